/** Webhook endpoints made through the repository, and the delivery machinery (fan-out + workers) of a container. */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { Container } from '../../src/core/container.js';
import { OutboxDrain } from '../../src/core/jobs/outbox-drain.js';
import { JobWorkers } from '../../src/core/jobs/workers.js';
import { json } from '../../src/core/store/codec.js';
import {
  type WebhookDelivery,
  type WebhookEndpoint,
  webhookDeliveries,
  webhookEndpoints,
} from '../../src/core/store/repos/webhooks.js';
import { webhookDeliverKind } from '../../src/core/webhooks/deliver-job.js';
import { webhookFanout } from '../../src/core/webhooks/fanout.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';

const logger = pino({ level: 'silent' });

export async function makeEndpoint(
  c: Container,
  opts: { url: string; events?: string[]; organizationId?: string | null; headers?: Record<string, string> },
): Promise<{ ep: WebhookEndpoint; secret: string }> {
  const secret = newSigningSecret();
  const ep = await webhookEndpoints.insert(
    c.store.db,
    {
      id: randomUUID(),
      organizationId: opts.organizationId ?? null,
      url: opts.url,
      description: null,
      events: opts.events ?? ['*'],
      headers: opts.headers ?? {},
      secretBox: sealSecret(c.box, secret),
      createdBy: null,
    },
    c.clock.now(),
  );
  return { ep, secret };
}

export async function makeOrg(c: Container, name: string): Promise<string> {
  const id = randomUUID();
  const now = c.clock.now();
  await c.store.db
    .insertInto('organizations')
    .values({
      id,
      name,
      slug: `${name}-${id.slice(0, 8)}`,
      description: null,
      logo_url: null,
      metadata: json({}),
      created_by: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

/** The container's fan-out and webhook workers, running on its (fixed) clock. */
export function startDelivery(c: Container): {
  workers: JobWorkers;
  drain: OutboxDrain;
  stop(): Promise<void>;
} {
  const deps = { store: c.store, clock: c.clock, logger };
  const workers = new JobWorkers(deps, [webhookDeliverKind({ ...c, logger })], {
    pollMs: 20,
    shutdownGraceMs: 200,
  });
  const drain = new OutboxDrain(deps, [webhookFanout(c)], { pollMs: 20 });
  workers.start();
  drain.start();
  return {
    workers,
    drain,
    async stop() {
      await drain.stop();
      await workers.stop();
    },
  };
}

export async function deliveriesOf(c: Container, endpointId: string): Promise<WebhookDelivery[]> {
  return webhookDeliveries.list(c.store.db, { endpointId, limit: 1000 });
}
