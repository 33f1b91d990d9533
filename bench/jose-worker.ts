/** Worker thread for the RS256 signing baseline: signs back to back for the given time, reports the count. */
import { parentPort, workerData } from 'node:worker_threads';
import { importPKCS8, SignJWT } from 'jose';

const { pkcs8, ms, inflight } = workerData as { pkcs8: string; ms: number; inflight: number };
const key = await importPKCS8(pkcs8, 'RS256');
let count = 0;
const end = performance.now() + ms;
async function loop(): Promise<void> {
  while (performance.now() < end) {
    await new SignJWT({ sid: 's', type: 'access' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
      .setSubject('bench')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
    count++;
  }
}
await Promise.all(Array.from({ length: inflight }, loop));
parentPort!.postMessage(count);
