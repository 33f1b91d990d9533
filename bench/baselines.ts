/** The machine's own capacity, measured in the same run: the denominators of every ratio. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import bcrypt from 'bcrypt';
import { exportPKCS8, generateKeyPair, SignJWT } from 'jose';
import { round, runScenario, type ScenarioResult } from './load.js';

export interface CpuRun {
  count: number;
  seconds: number;
  perSecond: number;
  /** Process CPU time over wall time (1.0 = one core busy), where it can be measured. */
  cpuCores: number | null;
}

async function timed(
  seconds: number,
  body: (end: number) => Promise<number>,
  measureCpu = true,
): Promise<CpuRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const count = await body(t0 + seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    count,
    seconds: round(wall),
    perSecond: round(count / wall),
    cpuCores: measureCpu ? round((cpu.user + cpu.system) / 1e6 / wall) : null,
  };
}

/** `concurrency` bcrypt.compare calls always in flight (libuv's thread pool runs them on the cores). */
export async function bcryptCapacity(rounds: number, concurrency: number, seconds: number): Promise<CpuRun> {
  const password = 'Bench-Passw0rd!';
  const hash = await bcrypt.hash(password, rounds);
  return timed(seconds, async (end) => {
    let count = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          if (!(await bcrypt.compare(password, hash))) throw new Error('bcrypt baseline: compare failed');
          count++;
        }
      }),
    );
    return count;
  });
}

export interface JoseCapacity {
  /** One signature at a time on the main thread. */
  sequential: CpuRun;
  /** Many concurrent SignJWT promises on the main thread (WebCrypto runs in the thread pool). */
  concurrentPromises: CpuRun;
  /** One worker thread per core, each with a few signatures in flight. */
  workers: CpuRun;
  /** The best of the above: the capacity the refresh target is measured against. */
  best: { perSecond: number; method: 'sequential' | 'concurrentPromises' | 'workers' };
  /** concurrentPromises / sequential: above ~1.5 on 2 cores means promises alone use several cores. */
  promiseScaling: number;
}

function sign(key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']): Promise<string> {
  return new SignJWT({ sid: 's', type: 'access' })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

export async function joseCapacity(cores: number, seconds: number): Promise<JoseCapacity> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const loop = (inflight: number) => async (end: number) => {
    let count = 0;
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (performance.now() < end) {
          await sign(privateKey);
          count++;
        }
      }),
    );
    return count;
  };
  for (let i = 0; i < 20; i++) await sign(privateKey); // warm-up
  const sequential = await timed(seconds, loop(1));
  const concurrentPromises = await timed(seconds, loop(cores * 8));
  const pkcs8 = await exportPKCS8(privateKey);
  const workerFile = fileURLToPath(new URL('./jose-worker.js', import.meta.url));
  const workers = await timed(seconds, async () => {
    const counts = await Promise.all(
      Array.from({ length: cores }, async () => {
        const w = new Worker(workerFile, { workerData: { pkcs8, ms: seconds * 1000, inflight: 4 } });
        const [n] = (await once(w, 'message')) as [number];
        await w.terminate();
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  });
  const candidates = [
    ['sequential', sequential],
    ['concurrentPromises', concurrentPromises],
    ['workers', workers],
  ] as const;
  const [method, run] = candidates.reduce((a, b) => (b[1].perSecond > a[1].perSecond ? b : a));
  return {
    sequential,
    concurrentPromises,
    workers,
    best: { perSecond: run.perSecond, method },
    promiseScaling: round(concurrentPromises.perSecond / sequential.perSecond),
  };
}

/** Bare Fastify hello-world in a child process, loaded exactly like the daemon's scenarios. */
export async function fastifyBaseline(connections: number, durationS: number): Promise<ScenarioResult> {
  const file = fileURLToPath(new URL('./fastify-hello.js', import.meta.url));
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { address: string }).address);
      });
      child.once('exit', (code) => reject(new Error(`fastify baseline exited with ${code}`)));
    });
    return await runScenario({
      name: 'fastify hello world',
      url: address,
      connections,
      durationS,
      plan: () => ({ method: 'GET', path: '/' }),
      serverPid: child.pid,
    });
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

export const CORES = availableParallelism();
