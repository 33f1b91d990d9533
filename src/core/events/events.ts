import { randomUUID } from 'node:crypto';
import { jobSignals, OUTBOX_KIND } from '../jobs/signals.js';
import { json } from '../store/codec.js';
import { afterCommit, type Executor } from '../store/store.js';

/** Who did something and from where; passed from the HTTP request or the CLI into every service call. */
export interface RequestContext {
  actorId?: string | null;
  actorType?: 'user' | 'admin' | 'system' | 'cli' | 'anonymous';
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export const CLI_CONTEXT: RequestContext = { actorType: 'cli', actorId: null };
export const SYSTEM_CONTEXT: RequestContext = { actorType: 'system', actorId: null };

export interface AuditInput {
  action: string;
  outcome?: 'success' | 'failure';
  targetType?: string | null;
  targetId?: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * Writes a security event to the audit table. Always called with the transaction that makes the change,
 * so an audit row exists exactly when the change does.
 */
export async function audit(ex: Executor, ctx: RequestContext, e: AuditInput, now: Date): Promise<void> {
  await ex
    .insertInto('audit_events')
    .values({
      id: randomUUID(),
      occurred_at: now,
      action: e.action,
      outcome: e.outcome ?? 'success',
      actor_id: ctx.actorId ?? null,
      actor_type: ctx.actorType ?? (ctx.actorId ? 'user' : 'anonymous'),
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      ip: ctx.ip ?? null,
      user_agent: ctx.userAgent?.slice(0, 512) ?? null,
      request_id: ctx.requestId ?? null,
      metadata: json(e.metadata ?? {}),
    })
    .execute();
}

/** Domain event names (API.md's webhook event list); webhooks and other consumers read the outbox. */
export type DomainEventType =
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'user.verified'
  | 'user.suspended'
  | 'user.reactivated'
  | 'user.locked'
  | 'user.unlocked'
  | 'session.created'
  | 'session.revoked'
  | 'session.expired'
  | 'security.password.changed'
  | 'security.password.reset'
  | 'security.mfa.enabled'
  | 'security.mfa.disabled'
  | 'security.passkey.registered'
  | 'security.passkey.removed'
  | 'organization.created'
  | 'organization.updated'
  | 'organization.deleted'
  | 'organization.ownership_transferred'
  | 'organization.member.added'
  | 'organization.member.removed'
  | 'organization.member.role_changed'
  | 'organization.invitation.created'
  | 'organization.invitation.resent'
  | 'organization.invitation.accepted'
  | 'organization.invitation.revoked'
  | 'organization.role.created'
  | 'organization.role.updated'
  | 'organization.role.deleted'
  | 'webhook.endpoint.disabled'
  | 'sso.connection.created'
  | 'sso.connection.updated'
  | 'sso.connection.deleted'
  | 'sso.signin.succeeded'
  | 'sso.signin.failed';

export interface DomainEvent {
  type: DomainEventType;
  aggregate: { type: string; id: string };
  payload: Record<string, unknown>;
}

function outboxRow(e: DomainEvent, now: Date) {
  return {
    id: randomUUID(),
    event_type: e.type,
    aggregate_type: e.aggregate.type,
    aggregate_id: e.aggregate.id,
    payload: json(e.payload),
    created_at: now,
  };
}

/**
 * Appends a domain event to the outbox in the caller's transaction (transactional outbox): a crash never
 * loses an event, and an event is never published for a change that rolled back.
 */
export async function emit(
  ex: Executor,
  type: DomainEventType,
  aggregate: { type: string; id: string },
  payload: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await ex.insertInto('outbox').values(outboxRow({ type, aggregate, payload }, now)).execute();
  afterCommit(ex, wakeOutbox);
}

/** Tells this process's outbox drain that events were committed. */
const wakeOutbox = () => jobSignals.wake(OUTBOX_KIND);

/** `emit` for many events in one statement (batch imports), in the caller's transaction. */
export async function emitMany(ex: Executor, events: readonly DomainEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  await ex
    .insertInto('outbox')
    .values(events.map((e) => outboxRow(e, now)))
    .execute();
  afterCommit(ex, wakeOutbox);
}
