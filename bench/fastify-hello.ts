/**
 * Baseline server: a bare Fastify hello-world route, run as its own process like the daemon. Prints its
 * address as one JSON line on stdout once listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ address })}\n`);
process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
