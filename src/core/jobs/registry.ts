/**
 * What this build's workers run: the queued job kinds and the outbox consumers of every area. Areas that do
 * background work (mail, webhook deliveries, exports) add theirs here; `janua serve` starts workers for
 * exactly these. Jobs of a kind no node knows stay pending (and show in `janua jobs list`).
 */
import { emailFlowJob } from '../auth/flows/requests.js';
import type { Deps } from '../deps.js';
import { exportJobKind } from '../gdpr/exports.js';
import { mailSendKind } from '../mail/send-job.js';
import { webhookDeliverKind } from '../webhooks/deliver-job.js';
import { webhookFanout } from '../webhooks/fanout.js';
import type { JobKind } from './kinds.js';
import type { EventConsumer } from './outbox-drain.js';

export function jobKinds(deps: Deps): JobKind[] {
  return [mailSendKind(deps), emailFlowJob(deps), webhookDeliverKind(deps), exportJobKind(deps)];
}

export function eventConsumers(deps: Deps): EventConsumer[] {
  return [webhookFanout(deps)];
}
