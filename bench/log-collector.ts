/**
 * The bench's log collector: a process of its own reading a daemon's stdout, as journald or a container
 * runtime would. It counts the lines at info (the access log) on the bytes and passes every other line
 * through to its own stdout; at the end of its input it prints `{"infoLines": N}` as its last line.
 */
const ABOVE_OR_BELOW_INFO = ['"level":4', '"level":5', '"level":6', '"level":2', '"level":1'];

let info = 0;
let partial: Buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk: Buffer) => {
  const d = partial.length ? Buffer.concat([partial, chunk]) : chunk;
  const end = d.lastIndexOf(10) + 1;
  partial = d.subarray(end);
  const whole = d.subarray(0, end);
  for (let i = whole.indexOf(10); i >= 0; i = whole.indexOf(10, i + 1)) info++;
  if (!ABOVE_OR_BELOW_INFO.some((marker) => whole.includes(marker))) return;
  for (const line of whole.toString().split('\n')) {
    if (line && !line.startsWith('{"level":30,')) {
      info--;
      process.stdout.write(`${line}\n`);
    }
  }
});
process.stdin.on('end', () => {
  if (partial.length) process.stdout.write(`${partial.toString()}\n`);
  process.stdout.write(`${JSON.stringify({ infoLines: info })}\n`);
});
