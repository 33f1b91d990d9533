/**
 * `janua keys rotate-master` through the core, on every dialect: every sealed column and the peppers are
 * re-sealed with the new master key, after which the old key is not needed; a second run changes nothing
 * (resumable); a value no configured key opens is reported and left as it was; a dry run changes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { pino } from 'pino';
import { signInWithMfa, signUp } from '../../src/core/auth/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { rotateMasterKey } from '../../src/core/crypto/rotate-master.js';
import { SEALED_COLUMNS } from '../../src/core/crypto/sealed-columns.js';
import { SecretBox } from '../../src/core/crypto/secrets.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { isMfaRequired, verifyMfaSignIn } from '../../src/core/mfa/challenge.js';
import { confirmTotp, startTotp } from '../../src/core/mfa/enroll.js';
import { CLI_ACTOR } from '../../src/core/rbac/access.js';
import { allTables } from '../../src/core/store/introspect.js';
import { signingKeys } from '../../src/core/store/repos/signing-keys.js';
import { createEndpoint, rotateSecret } from '../../src/core/webhooks/endpoints.js';
import { openSecret } from '../../src/core/webhooks/secrets.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects, tempDir } from '../helpers/db.js';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');

for (const dialect of dialects()) {
  describe(`master key rotation (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    const dir = tempDir();
    const opened: Container[] = [];
    let pepperHash: string;
    let secrets: string[];
    let totp: { email: string; secret: string; backupCodes: string[] };
    const STEP_MS = 30_000;
    const codeNow = () =>
      generate({ secret: totp.secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });

    /** A password sign-in of the TOTP user finished with `code`, on `c`. */
    async function mfaSignIn(c: Container, code: string) {
      const first = await signInWithMfa(c, { email: totp.email, password: GOOD_PASSWORD }, CLI_CONTEXT);
      assert.ok(isMfaRequired(first));
      return verifyMfaSignIn(c, { mfaToken: first.mfaToken, code }, CLI_CONTEXT);
    }

    /** Another process on the same database, with other master keys. */
    function node(current: string, previous?: string): Container {
      const c = createContainer(
        loadConfig({
          env: {
            DATABASE_URL: t.db.url,
            JANUA_DATA_DIR: dir.path,
            JANUA_MASTER_KEY: current,
            ...(previous ? { JANUA_MASTER_KEY_PREVIOUS: previous } : {}),
          },
        }),
        { clock: t.clock, logger: pino({ level: 'silent' }) },
      );
      opened.push(c);
      return c;
    }

    const sealedValues = async (c: Container) => ({
      keys: (await signingKeys.list(c.store.db)).map((k) => k.privateKeyEnc),
      hooks: await c.store.db
        .selectFrom('webhook_endpoints')
        .select(['secret_box', 'previous_secret_box'])
        .execute(),
    });

    before(async () => {
      t = await testContainer(dialect, { JANUA_MASTER_KEY: keyA, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
      const made = await createEndpoint(
        t.c,
        CLI_ACTOR,
        { url: 'http://127.0.0.1:9/hook', events: ['user.*'] },
        CLI_CONTEXT,
      );
      const rotated = await rotateSecret(t.c, CLI_ACTOR, made.endpoint.id, CLI_CONTEXT);
      secrets = [rotated.secret, made.secret];
      pepperHash = await t.c.peppers.hash('test', 'value');
      // A user with a TOTP factor (its seed sealed) and backup codes (hashed under the pepper).
      t.clock.set(new Date(Math.floor(Date.now() / STEP_MS) * STEP_MS + 10_000));
      const email = `rotate.${Date.now().toString(36)}@example.com`;
      const s = await signUp(t.c, { email, password: GOOD_PASSWORD }, CLI_CONTEXT);
      const e = await startTotp(t.c, s.user, { session: s.session }, CLI_CONTEXT);
      totp = { email, secret: e.secret, backupCodes: [] };
      const confirmed = await confirmTotp(
        t.c,
        s.user,
        await codeNow(),
        { issueBackupCodes: true },
        CLI_CONTEXT,
      );
      totp.backupCodes = confirmed.backupCodes!;
    });

    after(async () => {
      for (const c of opened) await c.close();
      await t.close();
      dir.remove();
    });

    it('every column holding a sealed value is in SEALED_COLUMNS', async () => {
      const tables = await allTables(t.c.store);
      const sealedLike = tables.flatMap((tb) =>
        tb.columns.filter((c) => /(_box|_enc)$/.test(c.name)).map((c) => `${tb.name}.${c.name}`),
      );
      const listed = SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`);
      assert.ok(sealedLike.length >= 3);
      assert.deepEqual(
        sealedLike.filter((c) => !listed.includes(c)),
        [],
        'unlisted sealed columns',
      );
    });

    it('a dry run counts what would be re-sealed and changes nothing', async () => {
      const c = node(keyB, keyA);
      const before = await sealedValues(c);
      const r = await rotateMasterKey(c, CLI_CONTEXT, { dryRun: true });
      assert.equal(r.dry_run, true);
      assert.equal(
        r.resealed,
        before.keys.length + 2 + 1 + 2,
        'signing keys, two webhook secrets, a TOTP seed, two peppers (this test and the backup codes)',
      );
      assert.deepEqual(await sealedValues(c), before);
    });

    it('re-seals every value with the new key; then the old key is not needed', async () => {
      const c = node(keyB, keyA);
      const r = await rotateMasterKey(c, CLI_CONTEXT, { batchSize: 1 });
      const newId = new SecretBox(Buffer.from(keyB, 'base64')).keyId;
      const oldId = new SecretBox(Buffer.from(keyA, 'base64')).keyId;
      assert.equal(r.key_id, newId);
      assert.deepEqual(r.previous_key_ids, [oldId]);
      assert.equal(r.failed, 0);
      const byColumn = Object.fromEntries(r.columns.map((x) => [`${x.table}.${x.column}`, x.resealed]));
      assert.equal(byColumn['webhook_endpoints.secret_box'], 1);
      assert.equal(byColumn['webhook_endpoints.previous_secret_box'], 1);
      assert.equal(byColumn['mfa_totp_factors.seed_box'], 1);
      assert.equal(byColumn['settings.value'], 2, 'the test pepper and the backup-code pepper');
      assert.ok(byColumn['signing_keys.private_key_enc']! >= 1);
      const after = await sealedValues(c);
      for (const v of [...after.keys, after.hooks[0]!.secret_box, after.hooks[0]!.previous_secret_box!])
        assert.equal(c.box.sealedWith(v), newId);

      const onlyB = node(keyB);
      await onlyB.keys.load();
      assert.ok(onlyB.keys.signer().kid, 'the signing keys open with the new key alone');
      assert.deepEqual(
        [
          openSecret(onlyB.box, after.hooks[0]!.secret_box),
          openSecret(onlyB.box, after.hooks[0]!.previous_secret_box!),
        ],
        secrets,
      );
      assert.equal(
        await onlyB.peppers.hash('test', 'value'),
        pepperHash,
        'hashes made with a pepper stay valid',
      );
      t.clock.advance(STEP_MS);
      assert.ok((await mfaSignIn(onlyB, await codeNow())).tokens.access_token, 'the TOTP seed opens');
      assert.ok(
        (await mfaSignIn(onlyB, totp.backupCodes[0]!)).tokens.access_token,
        'backup codes made before the rotation still work',
      );
      const audit = await c.store.db
        .selectFrom('audit_events')
        .select(['outcome', 'target_id'])
        .where('action', '=', 'keys.master_rotated')
        .execute();
      assert.deepEqual(audit, [{ outcome: 'success', target_id: newId }]);
    });

    it('a second run finds everything current and changes nothing (resumable)', async () => {
      const c = node(keyB, keyA);
      const before = await sealedValues(c);
      const r = await rotateMasterKey(c, CLI_CONTEXT);
      assert.equal(r.resealed, 0);
      assert.equal(r.failed, 0);
      assert.equal(
        r.columns.reduce((n, x) => n + x.current, 0),
        before.keys.length + 2 + 1 + 2,
      );
      assert.deepEqual(await sealedValues(c), before);
    });

    it('a value no configured key opens is reported, left as it was, and the rest still re-sealed', async () => {
      const stranger = new SecretBox(randomBytes(32));
      const foreign = stranger.seal('webhook-secret', 'whsec_x');
      await t.c.store.db.updateTable('webhook_endpoints').set({ previous_secret_box: foreign }).execute();
      const c = node(randomBytes(32).toString('base64'), keyB);
      const r = await rotateMasterKey(c, CLI_CONTEXT);
      assert.equal(r.failed, 1);
      assert.equal(r.failures[0]!.column, 'previous_secret_box');
      assert.match(r.failures[0]!.error, new RegExp(`${stranger.keyId}.*not configured`));
      assert.ok(r.resealed >= 3);
      const hook = await c.store.db
        .selectFrom('webhook_endpoints')
        .select('previous_secret_box')
        .executeTakeFirstOrThrow();
      assert.equal(hook.previous_secret_box, foreign);
    });
  });
}
