/**
 * `janua webhooks replay` (the built binary) and the replay routes of `janua serve`, on a real database the
 * test fills through the core library (the management routes live on another branch): by ids and by window,
 * the `--json` shape, dry runs, exit codes 0/2/3/4, plain progress off a terminal; over HTTP 202/200, 401, 403
 * for a non-admin, 404 for unknown ids, 422 for malformed ones.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import {
  type DeliveryStatus,
  webhookDeliveries,
  webhookEndpoints,
} from '../../src/core/store/repos/webhooks.js';
import { enqueueDeliveries } from '../../src/core/webhooks/enqueue.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { onTerminal } from '../helpers/terminal.js';
import { ADMIN_EMAIL, ADMIN_ENV } from './control-chars.js';
import { assertError, type Call, client, signIn, signUp, UUID_RE } from './support.js';

interface Row {
  original_id: string;
  outcome: string;
  delivery_id?: string;
  reason?: string;
  status?: string;
}

for (const dialect of dialects()) {
  describe(`webhooks replay through the binary (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    let c: Container;
    let call: Call;
    let env: Record<string, string>;
    const dir = tempDir('janua-replay-');
    before(async () => {
      db = await createTestDatabase(dialect);
      env = { DATABASE_URL: db.url, JANUA_MASTER_KEY: newMasterKey(), ...ADMIN_ENV };
      d = await startDaemon({ databaseUrl: db.url, env });
      call = client(d);
      c = createContainer(loadConfig({ env: { ...env, JANUA_DATA_DIR: dir.path } }), {
        logger: pino({ level: 'silent' }),
      });
    });
    after(async () => {
      await c.close();
      await d.stop();
      await db.drop();
      dir.remove();
    });

    const cli = (args: string[]) =>
      runCli(['webhooks', 'replay', ...args], { env: { ...env, JANUA_DATA_DIR: d.env['JANUA_DATA_DIR']! } });
    const json = (stdout: string) => JSON.parse(stdout) as Row[];

    const endpoint = async (status: 'active' | 'disabled' = 'active') => {
      const id = randomUUID();
      await webhookEndpoints.insert(
        c.store.db,
        {
          id,
          organizationId: null,
          url: 'http://127.0.0.1:9/hook',
          description: null,
          // Subscribed to no event the daemon emits: the HTTP test's sign-ups would otherwise fan out to these
          // endpoints and add deliveries the counts below do not expect. Replay does not look at subscriptions.
          events: ['test.never-emitted'],
          headers: {},
          secretBox: sealSecret(c.box, newSigningSecret()),
          createdBy: null,
        },
        new Date(),
      );
      if (status === 'disabled')
        await webhookEndpoints.update(c.store.db, id, { status, disabledReason: 'manual' }, new Date());
      return id;
    };
    const originals = async (
      endpointId: string,
      n: number,
      o: { type?: string; status?: DeliveryStatus } = {},
    ): Promise<string[]> => {
      // Made finished in the transaction that makes them: the daemon's workers (which poll the same database)
      // must never claim these jobs, or they would overwrite the outcome set here.
      const made = await c.store.transaction(async (tx) => {
        const made = await enqueueDeliveries(
          tx,
          { ...c, maxAttempts: 3 },
          Array.from({ length: n }, (_, i) => ({
            endpointId,
            event: {
              id: randomUUID(),
              type: o.type ?? 'user.created',
              createdAt: new Date(),
              data: { i },
              organizationId: null,
            },
          })),
        );
        for (const m of made)
          await webhookDeliveries.record(
            tx,
            m.deliveryId,
            m.jobId,
            {
              status: o.status ?? 'failed',
              attempts: 1,
              responseStatus: 500,
              responseBody: null,
              latencyMs: 3,
              lastError: 'HTTP 500',
              nextAttemptAt: null,
            },
            new Date(),
          );
        await tx
          .updateTable('jobs')
          .set({ state: 'cancelled', finished_at: new Date() })
          .where(
            'id',
            'in',
            made.map((m) => m.jobId),
          )
          .execute();
        return made;
      });
      return made.map((m) => m.deliveryId);
    };
    const deliveries = async () =>
      Number(
        (
          await c.store.db
            .selectFrom('webhook_deliveries')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    test('by ids: exit 0, one JSON array of {original_id, outcome, delivery_id}, new deliveries replaying them', async () => {
      const ep = await endpoint();
      const ids = await originals(ep, 2);
      const r = await cli([...ids, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const rows = json(r.stdout);
      assert.deepEqual(
        rows.map((x) => [x.original_id, x.outcome, Object.keys(x).sort().join()]),
        ids.map((id) => [id, 'queued', 'delivery_id,original_id,outcome']),
      );
      for (const row of rows) {
        assert.match(row.delivery_id!, UUID_RE);
        const copy = (await webhookDeliveries.findById(c.store.db, row.delivery_id!))!;
        const orig = (await webhookDeliveries.findById(c.store.db, row.original_id))!;
        assert.equal(copy.replayOf, orig.id);
        assert.equal(copy.eventId, orig.eventId);
        assert.equal(copy.body, orig.body);
      }
      assert.match(r.stderr, /2 selected: 2 queued, 0 skipped, 0 errors/, 'plain progress off a terminal');
      // The human summary: a table.
      const h = await cli([ids[0]!]);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, /^ORIGINAL_ID\s+OUTCOME\s+DELIVERY_ID/);
      assert.match(h.stdout, new RegExp(`${ids[0]}\\s+queued`));
    });

    test('by window: only the matching deliveries of that webhook, each filter applied; dry run changes nothing', async () => {
      const ep = await endpoint();
      const other = await endpoint();
      const failed = await originals(ep, 3);
      const ok = await originals(ep, 1, { status: 'succeeded' });
      const org = await originals(ep, 1, { type: 'organization.created' });
      await originals(other, 2);
      const before = await deliveries();
      const dry = await cli(['--webhook', ep, '--since', '1h', '--dry-run', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(
        json(dry.stdout)
          .map((x) => x.original_id)
          .sort(),
        [...failed, ...ok, ...org].sort(),
      );
      assert.ok(json(dry.stdout).every((x) => x.outcome === 'would_queue' && !x.delivery_id));
      assert.equal(await deliveries(), before, 'a dry run changes nothing');
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const r = await cli([
        '--webhook',
        ep,
        '--since',
        since,
        '--until',
        '0s',
        '--status',
        'failed',
        '--event',
        'user.created',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        json(r.stdout)
          .map((x) => x.original_id)
          .sort(),
        [...failed].sort(),
      );
      assert.equal(await deliveries(), before + 3);
      // --skip-replayed: only first deliveries not replayed yet (the 3 failed ones were, their replays are not first).
      const rest = await cli(['--webhook', ep, '--since', '1h', '--skip-replayed', '--dry-run', '--json']);
      assert.equal(rest.code, 0, rest.stderr);
      assert.deepEqual(
        json(rest.stdout)
          .map((x) => x.original_id)
          .sort(),
        [...ok, ...org].sort(),
      );
      const bySucceeded = await cli(['--webhook', ep, '--since', '7d', '--status', 'succeeded', '--json']);
      assert.deepEqual(
        json(bySucceeded.stdout).map((x) => x.original_id),
        ok,
      );
    });

    test('exit 3 when an item is skipped (disabled endpoint) or, with --wait, a replay has not succeeded', async () => {
      const off = await endpoint('disabled');
      await originals(off, 2);
      const r = await cli(['--webhook', off, '--since', '1h', '--json']);
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(
        json(r.stdout).map((x) => [x.outcome, x.reason]),
        [
          ['skipped', 'endpoint_disabled'],
          ['skipped', 'endpoint_disabled'],
        ],
      );
      // Nothing on this branch sends deliveries: the replay is still pending when --wait gives up.
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      const w = await cli([id!, '--wait', '1', '--json']);
      assert.equal(w.code, 3, w.stderr);
      const [row] = json(w.stdout);
      assert.equal(row!.outcome, 'queued');
      assert.ok(row!.status === 'pending' || row!.status === 'retrying', row!.status);
    });

    test('exit 4 for an unknown id (others still replayed) or an unknown --webhook', async () => {
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      const missing = randomUUID();
      const r = await cli([id!, missing, '--json']);
      assert.equal(r.code, 4, r.stderr);
      assert.deepEqual(
        json(r.stdout).map((x) => [x.original_id, x.outcome, x.reason]),
        [
          [id, 'queued', undefined],
          [missing, 'skipped', 'not_found'],
        ],
      );
      const w = await cli(['--webhook', randomUUID(), '--since', '1h']);
      assert.equal(w.code, 4, w.stderr);
      assert.match(w.stderr, /no webhook/);
    });

    test('exit 2 for bad usage, changing nothing', async () => {
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      const before = await deliveries();
      for (const args of [
        [],
        ['--webhook', ep],
        ['--since', '1h'],
        [id!, '--webhook', ep, '--since', '1h'],
        [id!, '--status', 'failed'],
        ['--webhook', ep, '--since', 'yesterday'],
        ['--webhook', ep, '--since', '1h', '--until', '2h'],
        ['--webhook', ep, '--since', '1h', '--status', 'bogus'],
        [id!, '--wait', '0'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      }
      assert.equal(await deliveries(), before);
    });

    test('on a terminal: the live view with the skipped items, then the summary table', async () => {
      const ep = await endpoint();
      const ids = await originals(ep, 2);
      const missing = randomUUID();
      const { code, screen } = await onTerminal(['webhooks', 'replay', ...ids, missing], {
        ...env,
        JANUA_DATA_DIR: d.env['JANUA_DATA_DIR']!,
      });
      assert.equal(code, 4, screen);
      assert.match(screen, /Replaying 3 selected: 2 queued, 1 skipped, 0 errors/);
      assert.equal(screen.match(new RegExp(`${missing}: skipped \\(not_found\\)`, 'g'))?.length, 1);
      assert.match(screen, /ORIGINAL_ID\s+OUTCOME\s+DELIVERY_ID\s+REASON/);
      assert.doesNotMatch(screen, /^3 selected:/m, 'no plain tally line on a terminal');
    });

    test('HTTP: admins replay one delivery (202) or a window; 401, 403, 404 and 422 change nothing', async () => {
      const admin = await signIn(call, ADMIN_EMAIL);
      const member = await signUp(call);
      const a = { token: admin.access_token };
      const ep = await endpoint();
      const [id, id2] = await originals(ep, 2);
      const one = await call('POST', `/api/v1/webhooks/deliveries/${id}/replay`, a);
      assert.equal(one.status, 202, one.text);
      assert.equal(one.body.replay_of, id);
      assert.equal(one.body.status, 'pending');
      assert.match(one.body.delivery_id, UUID_RE);
      assert.equal((await webhookDeliveries.findById(c.store.db, one.body.delivery_id))!.replayOf, id);

      const before = await deliveries();
      assertError(
        await call('POST', `/api/v1/webhooks/deliveries/${id}/replay`),
        401,
        'AUTHENTICATION_ERROR',
      );
      assertError(
        await call('POST', `/api/v1/webhooks/deliveries/${id}/replay`, { token: member.access_token }),
        403,
        'AUTHORIZATION_ERROR',
      );
      assertError(
        await call('POST', `/api/v1/webhooks/${ep}/replay`, {
          token: member.access_token,
          body: { since: new Date(0).toISOString() },
        }),
        403,
        'AUTHORIZATION_ERROR',
      );
      assertError(
        await call('POST', `/api/v1/webhooks/deliveries/${randomUUID()}/replay`, a),
        404,
        'NOT_FOUND_ERROR',
      );
      assertError(await call('POST', '/api/v1/webhooks/deliveries/nope/replay', a), 422, 'VALIDATION_ERROR');
      assertError(
        await call('POST', `/api/v1/webhooks/${randomUUID()}/replay`, {
          ...a,
          body: { since: new Date(0).toISOString() },
        }),
        404,
        'NOT_FOUND_ERROR',
      );
      assertError(
        await call('POST', `/api/v1/webhooks/${ep}/replay`, { ...a, body: {} }),
        422,
        'VALIDATION_ERROR',
      );
      assertError(
        await call('POST', `/api/v1/webhooks/${ep}/replay`, { ...a, body: { since: 'yesterday' } }),
        422,
        'VALIDATION_ERROR',
      );
      assert.equal(await deliveries(), before, 'refused requests change nothing');

      const since = new Date(Date.now() - 3_600_000).toISOString();
      const dry = await call('POST', `/api/v1/webhooks/${ep}/replay`, {
        ...a,
        body: { since, dry_run: true },
      });
      assert.equal(dry.status, 200, dry.text);
      assert.equal(dry.body.queued, 3, 'two originals and the replay made above');
      assert.equal(await deliveries(), before);
      const w = await call('POST', `/api/v1/webhooks/${ep}/replay`, {
        ...a,
        body: { since, status: 'failed', event_type: 'user.created' },
      });
      assert.equal(w.status, 202, w.text);
      assert.deepEqual({ queued: w.body.queued, skipped: w.body.skipped }, { queued: 2, skipped: 0 });
      assert.deepEqual(w.body.items.map((x: Row) => x.original_id).sort(), [id, id2].sort());
      assert.equal(await deliveries(), before + 2);
    });
  });
}
