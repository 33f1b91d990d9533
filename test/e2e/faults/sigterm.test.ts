/**
 * Fault 7: SIGTERM while requests are in flight. Six sign-ins at bcrypt cost 12, hashed one at a time, are
 * under way (the daemon has logged each as incoming) when the daemon is told to stop. From then on a new
 * connection is refused, while every sign-in already sent gets its 200; the process exits with code 0; and
 * each of those sign-ins is whole in the database (session, refresh token, audit row, event), nothing else
 * half-done.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import type { Store } from '../../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../../helpers/db.js';
import { type Daemon, startDaemon } from '../../helpers/janua.js';
import { AUTH, client, openStore, PASSWORD, signUp, sleep, uniqueEmail } from '../support.js';
import { type Answer, checkAcknowledged, checkNothingHalfDone, clusterEnv, ok, send } from './support.js';

const IN_FLIGHT = 6;

/** Whether a new TCP connection to `url` is refused (the listener is closed). */
async function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  try {
    await once(socket, 'connect');
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ECONNREFUSED';
  } finally {
    socket.destroy();
  }
}

/** Lines the daemon logged for incoming sign-ins. */
function incomingSignIns(d: Daemon): number {
  return d.logs.filter((l) => l.includes('"incoming request"') && l.includes(`"url":"${AUTH}/signin"`))
    .length;
}

for (const dialect of dialects()) {
  describe(`fault: SIGTERM with requests in flight (${dialect})`, () => {
    let db: TestDatabase | undefined;
    let d: Daemon | undefined;
    let store: Store | undefined;
    after(async () => {
      await store?.destroy();
      await d?.stop('SIGKILL');
      await db?.drop();
    });

    test('in-flight sign-ins all answered 200, new connections refused, exit code 0, nothing half-done', async () => {
      db = await createTestDatabase(dialect);
      d = await startDaemon({
        databaseUrl: db.url,
        env: {
          ...clusterEnv(dialect),
          BCRYPT_ROUNDS: '12',
          PASSWORD_HASH_CONCURRENCY: '1',
          // Queue them all rather than shed any: each takes a few hundred ms, one after the other.
          PASSWORD_HASH_MAX_WAIT_MS: '60000',
          // "incoming request" (how the test sees a sign-in arrive) is a debug line.
          LOG_LEVEL: 'debug',
        },
      });
      const daemon = d;
      // One account per sign-in: parallel sign-ins to one account count against its lockout.
      const emails = Array.from({ length: IN_FLIGHT }, () => uniqueEmail('sigterm'));
      await Promise.all(emails.map((e) => signUp(client(daemon), e)));

      const before = incomingSignIns(daemon);
      const pending = new Set<number>();
      const answers: Answer[] = [];
      const inFlight = Array.from({ length: IN_FLIGHT }, async (_, i) => {
        pending.add(i);
        const a = await send(daemon.url, 'signin', i, `${AUTH}/signin`, {
          method: 'POST',
          body: { email: emails[i], password: PASSWORD },
        });
        pending.delete(i);
        answers.push(a);
      });
      const deadline = Date.now() + 30_000;
      while (incomingSignIns(daemon) - before < IN_FLIGHT) {
        assert.ok(Date.now() < deadline, 'the daemon received every sign-in');
        await sleep(10);
      }
      assert.ok(pending.size > 0, 'sign-ins still being hashed when the signal comes');

      const exited = once(daemon.child, 'exit') as Promise<[number | null, string | null]>;
      daemon.child.kill('SIGTERM');
      while (!(await refused(daemon.url))) {
        assert.ok(Date.now() < deadline, 'new connections refused after SIGTERM');
        await sleep(10);
      }
      const stillPending = pending.size;
      await Promise.all(inFlight);
      const [code, signal] = await exited;

      assert.ok(stillPending > 0, 'new connections were refused while sign-ins were still in flight');
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(IN_FLIGHT).fill(200),
        JSON.stringify(answers.map((a) => a.text ?? a.error)),
      );
      assert.equal(signal, null);
      assert.equal(code, 0, daemon.logs.slice(-5).join('\n'));
      const logged = daemon.logs.map((l) => l.slice(0, 400)).join('\n');
      assert.match(logged, /"msg":"stopping: finishing in-flight requests"/);
      assert.match(logged, /"msg":"stopped"/);

      store = openStore(db.url);
      assert.ok(answers.every(ok));
      await checkAcknowledged(store, answers);
      const whole = await checkNothingHalfDone(store);
      assert.equal(whole.sessions, 2 * IN_FLIGHT, 'the sign-ups’ sessions and one per sign-in');
    });
  });
}
