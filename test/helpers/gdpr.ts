/**
 * A person with data in every module that stores personal data, made through the core where a core path
 * exists (sign-up, sign-in, profile, organizations, invitations, TOTP, mail, webhooks, email-flow jobs) and
 * written as rows where only an outside party makes them (a passkey needs an authenticator, a linked
 * identity an import, a consent the compliance API).
 */
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { pino } from 'pino';
import { issueAuthCode } from '../../src/core/auth/codes.js';
import { EMAIL_FLOW_KIND, emailFlowJob, requestByEmail } from '../../src/core/auth/flows/requests.js';
import { signIn, signUp } from '../../src/core/auth/service.js';
import type { Container } from '../../src/core/container.js';
import type { RequestContext } from '../../src/core/events/events.js';
import { OutboxDrain } from '../../src/core/jobs/outbox-drain.js';
import { enqueueMail } from '../../src/core/mail/queue.js';
import { confirmTotp, startTotp } from '../../src/core/mfa/enroll.js';
import { createInvitation } from '../../src/core/orgs/invitations.js';
import { addMember, createOrganization } from '../../src/core/orgs/service.js';
import { json } from '../../src/core/store/codec.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { updateUser } from '../../src/core/users/admin-update.js';
import { webhookFanout } from '../../src/core/webhooks/fanout.js';
import { GOOD_PASSWORD } from './app.js';

export interface Person {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  ip: string;
  userAgent: string;
}

/** Strings that identify the person (what must be gone after erasure). */
export const traces = (p: Person) => [p.email, p.firstName, p.lastName, p.phone, p.ip, p.userAgent];

const tag = () => randomUUID().slice(0, 8);

/** A person with data everywhere; `orgId` adds them to that organization (else they own a new one). */
export async function seedPerson(
  c: Container,
  opts: { first: string; last: string; ip: string; orgOwner?: { id: string; orgId: string } },
): Promise<Person & { orgId: string }> {
  const t = tag();
  const email = `${opts.first.toLowerCase()}.${t}@example.com`;
  const userAgent = `Agent-${opts.first}-${t}/1.0`;
  const ctx: RequestContext = { ip: opts.ip, userAgent, requestId: `req-${t}` };
  const s = await signUp(
    c,
    { email, password: GOOD_PASSWORD, firstName: opts.first, lastName: opts.last },
    ctx,
  );
  const id = s.user.id;
  const self: RequestContext = { ...ctx, actorId: id, actorType: 'user' };
  const phone = `+1555${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
  await updateUser(c, id, { phoneNumber: phone }, self);
  await signIn(c, { email, password: GOOD_PASSWORD }, ctx);
  // Organizations: a member of someone else's (and invited to it first), or the owner of their own.
  let orgId: string;
  if (opts.orgOwner) {
    orgId = opts.orgOwner.orgId;
    const owner = { id: opts.orgOwner.id, isAdmin: false };
    const ownerCtx: RequestContext = { actorId: owner.id, actorType: 'user', ip: '198.51.100.250' };
    await createInvitation(c, owner, orgId, { email, role: 'member' }, ownerCtx);
    await addMember(c, owner, orgId, { userId: id, role: 'member' }, ownerCtx);
  } else {
    const org = await createOrganization(
      c,
      { id, isAdmin: false },
      { name: `Org ${t}`, slug: `org-${t}` },
      self,
    );
    orgId = org.organization.id;
  }
  // TOTP with backup codes.
  const e = await startTotp(c, s.user, { session: s.session }, self);
  await confirmTotp(
    c,
    s.user,
    await generate({ secret: e.secret, epoch: Math.floor(c.clock.now().getTime() / 1000) }),
    { issueBackupCodes: true },
    self,
  );
  // A failed sign-in after TOTP is on (confirming a code clears the counter): the lockout counter holds one.
  await signIn(c, { email, password: 'wrong-password-1!' }, ctx).catch(() => {});
  const now = c.clock.now();
  const db = c.store.db;
  await db
    .insertInto('webauthn_credentials')
    .values({
      id: randomUUID(),
      user_id: id,
      credential_id: `cred-${t}`,
      public_key: 'pQECAyYgASFYIA',
      sign_count: 3,
      transports: json(['internal']),
      device_type: 'multiDevice',
      backed_up: true,
      aaguid: '00000000-0000-0000-0000-000000000000',
      name: `${opts.first}'s phone`,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('user_identities')
    .values({
      id: randomUUID(),
      user_id: id,
      provider: 'google-oauth2',
      provider_user_id: `g-${t}`,
      connection: 'google-oauth2',
      is_social: true,
      profile: json({ name: `${opts.first} ${opts.last}`, email }),
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('import_records')
    .values({
      source: 'auth0:tenant',
      kind: 'user',
      external_id: `auth0|${t}`,
      local_id: id,
      source_hash: 'x'.repeat(64),
      needs_password: false,
      imported_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('consent_records')
    .values({
      id: randomUUID(),
      user_id: id,
      purpose: 'marketing',
      granted: true,
      legal_basis: 'consent',
      version: 'v1',
      source: 'api',
      ip: opts.ip,
      user_agent: userAgent,
      recorded_at: now,
    })
    .execute();
  await enqueueMail(db, c, {
    to: email,
    template: 'verify_email',
    vars: { name: opts.first, link: 'https://app.example.com/verify?token=abc' },
    userId: id,
  });
  await requestByEmail(c, { flow: 'magic_link', email }, ctx);
  // A one-time code of an SSO sign-in, sent back to an app that has not exchanged it yet.
  await c.store.transaction((tx) =>
    issueAuthCode(
      tx,
      {
        userId: id,
        redirectUri: 'https://app.example.com/sso/callback',
        method: 'saml',
        mfaSatisfied: false,
        details: {},
      },
      now,
    ),
  );
  return { id, email, firstName: opts.first, lastName: opts.last, phone, ip: opts.ip, userAgent, orgId };
}

/** Fans every outbox event out to the webhook endpoints (deliveries with bodies), as the daemon's drain does. */
export async function drainOutbox(c: Container): Promise<void> {
  const drain = new OutboxDrain({ ...c, logger: pino({ level: 'silent' }) }, [webhookFanout(c)]);
  while ((await drain.drainOnce()) > 0);
}

/** Every text value of every row of every table, as one string per row. */
export async function dumpDatabase(
  c: Container,
  tables: readonly string[],
): Promise<Array<{ table: string; row: string }>> {
  const out: Array<{ table: string; row: string }> = [];
  for (const table of tables) {
    // biome-ignore lint/suspicious/noExplicitAny: every table of the schema, read generically.
    const rows = await (c.store.db as any).selectFrom(table).selectAll().execute();
    for (const r of rows) out.push({ table, row: JSON.stringify(r) });
  }
  return out;
}

/** Runs the queued email-flow requests (they make the one-time links and their mail), as a worker would. */
export async function runEmailFlows(c: Container): Promise<void> {
  const kind = emailFlowJob(c);
  for (const job of await jobs.list(c.store.db, { kind: EMAIL_FLOW_KIND, state: 'pending', limit: 100 }))
    await kind.handle(job, { signal: new AbortController().signal });
}
