/**
 * Crash proof of webhook delivery on the spawned binary: with the receiver down, sign-ups through the API make
 * user.created events; the daemon is killed with SIGKILL while their deliveries are being attempted; a new
 * daemon starts on the same database and the receiver comes up. Every event arrives at least once (by event
 * id), none is lost, both signature schemes verify (checked by the receiver's own code, from the specs), and
 * the sign-up refused for a duplicate email — a change that never committed — sends nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SecretBox } from '../../src/core/crypto/secrets.js';
import { webhookDeliveries, webhookEndpoints } from '../../src/core/store/repos/webhooks.js';
import type { Store } from '../../src/core/store/store.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { until } from '../helpers/until.js';
import { AUTH, client, openStore, PASSWORD, uniqueEmail } from './support.js';
import { type Receiver, startReceiver } from './webhook-receiver.js';

const N = 25;

for (const dialect of dialects()) {
  describe(`webhook delivery survives kill -9 (${dialect})`, () => {
    let db: TestDatabase;
    let store: Store;
    let rec: Receiver;
    const daemons: Daemon[] = [];
    const masterKey = newMasterKey();
    const env = {
      JANUA_MASTER_KEY: masterKey,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      // Retries every 500 ms for 50 s: the receiver's outage spends attempts, not the whole budget.
      WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 100 }, () => '500ms').join(','),
      LOG_LEVEL: 'error',
    };
    before(async () => {
      db = await createTestDatabase(dialect);
      const m = await runCli(['db', 'migrate'], { env: { ...env, DATABASE_URL: db.url } });
      assert.equal(m.code, 0, m.stderr);
      store = openStore(db.url);
      rec = await startReceiver();
      await rec.down(); // its port stays known: the endpoint points at it
    });
    after(async () => {
      for (const d of daemons) await d.stop('SIGKILL');
      await rec.close();
      await store.destroy();
      await db.drop();
    });

    it('every committed event arrives at least once after a crash; the rolled-back one never', async () => {
      const secret = newSigningSecret();
      const box = new SecretBox(Buffer.from(masterKey, 'base64'));
      const ep = await webhookEndpoints.insert(
        store.db,
        {
          id: randomUUID(),
          organizationId: null,
          url: `${rec.origin}/hooks`,
          description: 'crash proof',
          events: ['user.created'],
          headers: {},
          secretBox: sealSecret(box, secret),
          createdBy: null,
        },
        new Date(),
      );
      rec.secrets = [secret];

      const first = await startDaemon({ databaseUrl: db.url, env });
      daemons.push(first);
      const call = client(first);
      const users = new Map<string, string>();
      for (let i = 0; i < N; i++) {
        const email = uniqueEmail('hook');
        const res = await call('POST', `${AUTH}/signup`, { body: { email, password: PASSWORD } });
        assert.equal(res.status, 201, res.text);
        users.set(res.body.user.id, email);
      }
      // Refused: the email is taken. Its change never commits, so no event may ever be sent for it.
      const dup = await call('POST', `${AUTH}/signup`, {
        body: { email: [...users.values()][0], password: PASSWORD },
      });
      assert.equal(dup.status, 409, dup.text);

      // Mid-delivery: attempts are failing against the downed receiver.
      await until(
        async () =>
          (await webhookDeliveries.list(store.db, { endpointId: ep.id, limit: 1 })).some(
            (d) => d.attempts > 0,
          ),
        20_000,
        'a delivery attempt against the downed receiver',
      );
      await first.stop('SIGKILL');
      assert.equal(rec.received.length, 0);

      const second = await startDaemon({ databaseUrl: db.url, env });
      daemons.push(second);
      await rec.up();
      const eventIds = () => new Set(rec.received.map((r) => String(r.headers['webhook-id'])));
      await until(async () => eventIds().size >= N, 60_000, `${N} distinct events at the receiver`);

      // Exactly the N committed sign-ups, each at least once; every request verifies in both schemes.
      const byEvent = new Map<string, string>();
      for (const r of rec.received) {
        assert.ok(r.standard.ok, `Standard Webhooks signature of ${r.headers['webhook-id']}`);
        assert.ok(r.original.ok, `X-Webhook-Signature of ${r.headers['webhook-id']}`);
        const body = JSON.parse(r.body);
        assert.equal(body.type, 'user.created');
        assert.equal(body.id, r.headers['webhook-id']);
        byEvent.set(body.id, body.data.user_id ?? body.data.id);
      }
      assert.equal(byEvent.size, N, 'no event beyond the committed sign-ups (none for the refused one)');
      assert.deepEqual([...byEvent.values()].sort(), [...users.keys()].sort());
      const outboxIds = await store.db
        .selectFrom('outbox')
        .select('id')
        .where('event_type', '=', 'user.created')
        .execute();
      assert.deepEqual([...byEvent.keys()].sort(), outboxIds.map((r) => r.id).sort());
      await until(
        async () =>
          (await webhookDeliveries.count(store.db, { endpointId: ep.id, status: 'succeeded' })) === N,
        20_000,
        'every delivery recorded as succeeded',
      );
      assert.equal(await webhookDeliveries.count(store.db, { endpointId: ep.id }), N);
    });

    it('a WEBHOOK_RETRY_SCHEDULE that is not a list of durations stops janua serve before it listens (exit 2)', async () => {
      const r = await runCli(['serve', '--port', '0'], {
        env: { ...env, DATABASE_URL: db.url, WEBHOOK_RETRY_SCHEDULE: '5s,soon' },
      });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /WEBHOOK_RETRY_SCHEDULE: "soon" is not a duration/);
      assert.doesNotMatch(r.stdout, /listening/);
    });
  });
}
