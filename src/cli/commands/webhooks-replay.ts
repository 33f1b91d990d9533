/**
 * `janua webhooks replay`: re-send deliveries by id, or a window of one endpoint's deliveries. The core makes the
 * new deliveries (core/webhooks/replay.ts); the daemons' workers send them. Progress goes to stderr (Ink on a
 * terminal), the per-item summary to stdout.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../core/store/repos/webhooks.js';
import {
  type DeliveryState,
  type ReplayItem,
  type ReplaySelection,
  replayDeliveries,
  waitForDeliveries,
} from '../../core/webhooks/replay.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';
import { plainReplayProgress, type ReplayView } from '../replay-progress-plain.js';
import { parseTimeArg } from '../time-arg.js';

const DEFAULT_WAIT_SECONDS = 60;

/** parseTimeArg, its refusal as this command's usage error (exit 2) naming the value. */
function parseTime(v: string, now: Date): Date {
  try {
    return parseTimeArg(v, () => now);
  } catch {
    throw new ExitWith(EXIT.USAGE, `error: "${v}" is not a time (ISO 8601, or relative like 24h, 7d)`);
  }
}

function status(v: string): DeliveryStatus {
  if (!(DELIVERY_STATUSES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${DELIVERY_STATUSES.join(', ')}`);
  return v as DeliveryStatus;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 86_400) throw new InvalidArgumentError('expected 1 to 86400 seconds');
  return n;
}

interface ReplayOpts {
  webhook?: string;
  since?: string;
  until?: string;
  status?: DeliveryStatus;
  event?: string;
  skipReplayed?: boolean;
  dryRun?: boolean;
  wait?: number | true;
  json?: boolean;
}

interface SummaryRow {
  original_id: string;
  outcome: ReplayItem['outcome'];
  delivery_id?: string;
  reason?: string;
  status?: string;
}

function selectionFrom(ids: string[], o: ReplayOpts): ReplaySelection {
  const window = o.webhook !== undefined || o.since !== undefined;
  const filters =
    o.until !== undefined || o.status !== undefined || o.event !== undefined || !!o.skipReplayed;
  if (ids.length && (window || filters))
    throw new ExitWith(EXIT.USAGE, 'error: give delivery ids, or a window (--webhook and --since), not both');
  if (ids.length) return { ids };
  if (o.webhook === undefined || o.since === undefined)
    throw new ExitWith(
      EXIT.USAGE,
      'error: name the deliveries to replay: DELIVERY_ID…, or --webhook ID --since T (a window is always bounded)',
    );
  const now = new Date();
  return {
    webhookId: o.webhook,
    since: parseTime(o.since, now),
    until: o.until === undefined ? undefined : parseTime(o.until, now),
    status: o.status,
    eventType: o.event,
    skipReplayed: !!o.skipReplayed,
  };
}

function verdict(rows: SummaryRow[], byIds: boolean, waited: boolean): ExitWith | undefined {
  const missing = rows.filter((r) => r.reason === 'not_found').length;
  if (byIds && missing) return new ExitWith(EXIT.NOT_FOUND, `error: ${missing} delivery id(s) not found`);
  const notQueued = rows.filter((r) => r.outcome === 'skipped' || r.outcome === 'error').length;
  if (notQueued) return new ExitWith(EXIT.PARTIAL, `error: ${notQueued} of ${rows.length} not replayed`);
  const unfinished = waited ? rows.filter((r) => r.status !== 'succeeded').length : 0;
  if (unfinished)
    return new ExitWith(EXIT.PARTIAL, `error: ${unfinished} of ${rows.length} replays did not succeed (yet)`);
  return undefined;
}

function human(rows: SummaryRow[], waited: boolean): string {
  if (!rows.length) return 'no deliveries match\n';
  const cols = ['original_id', 'outcome', 'delivery_id', 'reason', ...(waited ? ['status'] : [])];
  return table(rows, cols);
}

/** Adds `replay` to the `janua webhooks` group. */
export function registerWebhooksReplay(group: Command, io: Io): void {
  group
    .command('replay [DELIVERY_ID...]')
    .description(
      'Re-send deliveries (new deliveries with the same event id and body): by id, or a window of one webhook',
    )
    .option('--webhook <id>', 'the webhook whose deliveries to replay (with --since)')
    .option('--since <time>', 'window start, inclusive: ISO 8601 or relative (24h, 7d)')
    .option('--until <time>', 'window end, exclusive (default: now)')
    .option('--status <status>', `only deliveries in this state (${DELIVERY_STATUSES.join('|')})`, status)
    .option('--event <type>', 'only deliveries of this event type')
    .option(
      '--skip-replayed',
      'only first deliveries not replayed yet (re-run an interrupted replay with it to resume)',
    )
    .option('--dry-run', 'select and report, change nothing')
    .option('--wait [seconds]', `wait for the replays to finish (default ${DEFAULT_WAIT_SECONDS} s)`, seconds)
    .option('--json', 'print one JSON array: [{original_id, outcome, delivery_id?, reason?, status?}]')
    .action(async (ids: string[], o: ReplayOpts, cmd: Command) => {
      const selection = selectionFrom(ids, o);
      const waitS = o.wait === true ? DEFAULT_WAIT_SECONDS : o.wait;
      const failed = await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const dryRun = !!o.dryRun;
        const view: ReplayView =
          !o.json && io.terminal
            ? // Ink (and React) load only for a live display.
              (await import('../replay-progress.js')).startReplayProgress(io.terminal, dryRun)
            : plainReplayProgress(io, dryRun);
        const rows: SummaryRow[] = [];
        try {
          for await (const it of replayDeliveries(c, selection, { dryRun })) {
            view.item(it);
            rows.push({
              original_id: it.originalId,
              outcome: it.outcome,
              ...(it.deliveryId ? { delivery_id: it.deliveryId } : {}),
              ...(it.reason ? { reason: it.reason } : {}),
            });
          }
          const queued = rows.filter((r) => r.delivery_id);
          if (waitS !== undefined && !dryRun && queued.length) {
            view.status(`waiting up to ${waitS} s for ${queued.length} deliveries`);
            const states = new Map<string, DeliveryState>(
              (
                await waitForDeliveries(
                  c,
                  queued.map((r) => r.delivery_id!),
                  { timeoutMs: waitS * 1000 },
                )
              ).map((s) => [s.id, s]),
            );
            for (const r of queued) r.status = states.get(r.delivery_id!)?.status ?? 'deleted';
            view.status('');
          }
        } finally {
          await view.finish();
        }
        const waited = waitS !== undefined && !dryRun;
        emitResult(io, o.json, rows, (d) => human(d, waited));
        return verdict(rows, 'ids' in selection, waited);
      });
      if (failed) throw failed;
    });
}
