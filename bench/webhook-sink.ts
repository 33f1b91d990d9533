/**
 * The webhook bench's receiver, in its own process (forked with IPC) so receiving does not share the load
 * generator's thread: answers every POST 200 at once and records, per request, the event id and the latency
 * from the event's commit (`created_at` in the body) to its arrival here. Asked over IPC for its figures.
 */
import { createServer } from 'node:http';

const ids = new Set<string>();
const latencies: number[] = [];
let requests = 0;
let first = 0;
let last = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    requests++;
    if (!first) first = now;
    last = now;
    const id = String(req.headers['webhook-id'] ?? '');
    if (!ids.has(id)) {
      ids.add(id);
      const created = /"created_at":"([^"]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
      if (created) latencies.push(now - Date.parse(created));
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
  });
});
server.keepAliveTimeout = 10_000;

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats')
    process.send?.({ type: 'stats', requests, distinct: ids.size, first, last, latencies });
  else if (msg.type === 'reset') {
    ids.clear();
    latencies.length = 0;
    requests = 0;
    first = 0;
    last = 0;
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'stop') server.close(() => process.exit(0));
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ type: 'ready', port: typeof addr === 'object' && addr ? addr.port : 0 });
});
