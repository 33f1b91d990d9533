/**
 * Requests by email address (password reset, magic link, verification resend) must not tell whether an
 * account has the address — in the answer or in its timing. So the request does the same work for every
 * address: it checks the input and enqueues one `auth.email_flow` job; the job, on a worker, looks the address
 * up and (for a known one, within the per-address limit) issues the token and enqueues its mail in one
 * transaction. Unknown addresses get no mail, and no error anywhere a client can see.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps.js';
import { audit, emit, type RequestContext } from '../../events/events.js';
import type { JobKind } from '../../jobs/kinds.js';
import { enqueue } from '../../jobs/queue.js';
import { users } from '../../store/repos/users.js';
import type { Executor } from '../../store/store.js';
import type { User } from '../../users/model.js';
import { checkEmail } from '../service.js';
import { checkRedirectUrl, linkWithToken, underBase } from './links.js';
import { sendFlowMail } from './mail.js';
import { issueToken, lifetimeText, sentInLastHour } from './tokens.js';
import { resendVerificationQuietly } from './verification.js';

export const EMAIL_FLOW_KIND = 'auth.email_flow';

export type EmailFlow = 'password_reset' | 'magic_link' | 'verify_resend';

interface EmailFlowPayload {
  flow: EmailFlow;
  email: string;
  redirect_url: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
}

type FlowDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

/** Checks the request and queues it; answers the same for every well-formed address. */
export async function requestByEmail(
  deps: FlowDeps,
  input: { flow: EmailFlow; email: string; redirectUrl?: string | null | undefined },
  ctx: RequestContext,
): Promise<void> {
  const email = checkEmail(input.email);
  const redirectUrl = input.redirectUrl ? checkRedirectUrl(deps.config, input.redirectUrl) : null;
  const payload: EmailFlowPayload = {
    flow: input.flow,
    email,
    redirect_url: redirectUrl,
    ip: ctx.ip ?? null,
    user_agent: ctx.userAgent?.slice(0, 512) ?? null,
    request_id: ctx.requestId ?? null,
  };
  await enqueue(deps.store.db, deps, EMAIL_FLOW_KIND, payload, { maxAttempts: 20 });
}

/** Default pages of the front end served at JANUA_BASE_URL, when the request named no redirect_url. */
const DEFAULT_PAGE: Record<'password_reset' | 'magic_link', string> = {
  password_reset: '/reset-password',
  magic_link: '/magic-link',
};

/** The `auth.email_flow` job kind: runs a queued request (see the module comment). */
export function emailFlowJob(deps: FlowDeps): JobKind {
  return {
    kind: EMAIL_FLOW_KIND,
    concurrency: 2,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
    async handle(job) {
      const p = job.payload as EmailFlowPayload;
      const ctx: RequestContext = {
        actorType: 'anonymous',
        actorId: null,
        ip: p.ip,
        userAgent: p.user_agent,
        requestId: p.request_id,
      };
      const now = deps.clock.now();
      await deps.store.transaction(async (tx) => {
        let user = await users.findByEmail(tx, p.email);
        if (!user && p.flow === 'magic_link' && deps.config.magicLinkCreateUsers)
          user = await createPasswordless(tx, p.email, ctx, now);
        if (user?.status !== 'active') return;
        if (p.flow === 'verify_resend') {
          await resendVerificationQuietly(tx, deps, user, p.redirect_url, now);
          return;
        }
        // Beyond the per-address limit the request is dropped quietly: a 429 here would need the answer to
        // depend on the address, and the limit exists so nobody can flood a mailbox through us.
        if ((await sentInLastHour(tx, user.id, p.flow, now)) >= deps.config.flowMailsPerHour) return;
        const { token } = await issueToken(
          tx,
          { userId: user.id, purpose: p.flow, email: user.email, redirectUrl: p.redirect_url },
          now,
        );
        const page = p.redirect_url ?? underBase(deps.config, DEFAULT_PAGE[p.flow]);
        await sendFlowMail(tx, deps, {
          to: user.email,
          template: p.flow,
          link: linkWithToken(page, token),
          expiresIn: lifetimeText(p.flow),
          userId: user.id,
        });
        const action = p.flow === 'password_reset' ? 'auth.password.reset_requested' : 'auth.magic_link.sent';
        await audit(tx, ctx, { action, targetType: 'user', targetId: user.id }, now);
      });
    },
  };
}

/** MAGIC_LINK_CREATE_USERS: an account with no password, verified once its first link is used. */
async function createPasswordless(
  tx: Executor,
  email: string,
  ctx: RequestContext,
  now: Date,
): Promise<User> {
  const user = await users.insert(tx, { id: randomUUID(), email, now });
  await audit(
    tx,
    ctx,
    { action: 'user.signup', targetType: 'user', targetId: user.id, metadata: { method: 'magic_link' } },
    now,
  );
  await emit(tx, 'user.created', { type: 'user', id: user.id }, { user_id: user.id, email }, now);
  return user;
}
