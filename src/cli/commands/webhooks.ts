/**
 * `janua webhooks …`: webhook subscriptions and their deliveries, as a platform admin (the operator). The
 * same core functions as /api/v1/webhooks. `registerWebhooks` returns the group so more subcommands
 * (`replay`) can be attached to it.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { findOrganization } from '../../core/orgs/service.js';
import { CLI_ACTOR } from '../../core/rbac/access.js';
import { getDelivery, listDeliveries } from '../../core/webhooks/deliveries-query.js';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointWithSecret,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../../core/webhooks/endpoints.js';
import type { EndpointView } from '../../core/webhooks/present.js';
import { confirmDestructive } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { int } from '../options.js';
import { emitResult, type Io, table } from '../output.js';
import { parseTimeArg } from '../time-arg.js';

const LIST_COLUMNS = ['id', 'url', 'events', 'status', 'organization_id', 'created_at'];
const DELIVERY_COLUMNS = [
  'id',
  'webhook_id',
  'event_type',
  'status',
  'attempts',
  'response_status',
  'latency_ms',
  'created_at',
  'last_error',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Json = { json?: boolean };

function uuidArg(what: string) {
  return (id: string): string => {
    if (!UUID.test(id)) throw new ExitWith(EXIT.USAGE, `error: "${id}" is not a ${what} id`);
    return id.toLowerCase();
  };
}
const endpointId = uuidArg('webhook endpoint');
const deliveryId = uuidArg('webhook delivery');

/** `--header K:V`, repeatable. */
function collectHeader(v: string, acc: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError('expected NAME:VALUE');
  acc[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  return acc;
}

const eventList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const endpointText = (e: EndpointView) =>
  `${e.id}\n${table(
    [{ ...e, events: e.events.join(',') }],
    ['url', 'events', 'status', 'disabled_reason', 'organization_id', 'secret'],
  )}${e.description ? `description: ${e.description}\n` : ''}${
    Object.keys(e.headers).length ? `headers: ${Object.keys(e.headers).join(', ')}\n` : ''
  }`;

const secretText = (verb: string) => (r: EndpointWithSecret) =>
  `${verb} webhook endpoint ${r.endpoint.id} → ${r.endpoint.url}\nsigning secret: ${r.secret}\n` +
  'This secret is shown only once; store it now (rotate-secret issues a new one).\n';

export function registerWebhooks(program: Command, io: Io): Command {
  const run = <T>(cmd: Command, fn: (c: Parameters<Parameters<typeof withContainer>[3]>[0]) => Promise<T>) =>
    withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, fn);
  const wh = program
    .command('webhooks')
    .description('Webhook endpoints (subscriptions) and their deliveries');

  wh.command('list')
    .description('Endpoints, oldest first')
    .option('--org <org>', "only this organization's endpoints (id or slug)")
    .option('--platform', 'only platform endpoints (no organization)')
    .option('--page <n>', 'page (default 1)', int(1, 1_000_000))
    .option('--per-page <n>', 'per page (default 100)', int(1, 100))
    .option('--json', 'print one JSON document: {endpoints, total, page, per_page}')
    .action(
      async (
        o: Json & { org?: string; platform?: boolean; page?: number; perPage?: number },
        cmd: Command,
      ) => {
        if (o.org && o.platform)
          throw new ExitWith(EXIT.USAGE, 'error: --org and --platform exclude each other');
        await run(cmd, async (c) => {
          const organizationId = o.platform
            ? null
            : o.org
              ? (await findOrganization(c, o.org)).id
              : undefined;
          const r = await listEndpoints(c, CLI_ACTOR, {
            organizationId,
            page: o.page,
            perPage: o.perPage ?? 100,
          });
          emitResult(io, o.json, r, (d) =>
            d.endpoints.length
              ? table(
                  d.endpoints.map((e) => ({ ...e, events: e.events.join(',') })),
                  LIST_COLUMNS,
                )
              : 'no webhook endpoints\n',
          );
        });
      },
    );

  wh.command('get <id>')
    .description('One endpoint (its secret masked)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: Json, cmd: Command) => {
      const wanted = endpointId(id);
      await run(cmd, async (c) =>
        emitResult(io, o.json, await getEndpoint(c, CLI_ACTOR, wanted), endpointText),
      );
    });

  wh.command('create')
    .description('Subscribe an endpoint; prints its signing secret once')
    .requiredOption('--url <url>', 'absolute http(s) URL')
    .requiredOption('--events <list>', 'comma-separated event types, prefix.* patterns or *', eventList)
    .option('--description <text>')
    .option('--org <org>', 'owning organization (id or slug); without it, a platform endpoint')
    .option('--header <name:value>', 'a custom header sent with every delivery (repeatable)', collectHeader)
    .option('--json', 'print one JSON document: the endpoint with its secret')
    .action(
      async (
        o: Json & {
          url: string;
          events: string[];
          description?: string;
          org?: string;
          header?: Record<string, string>;
        },
        cmd: Command,
      ) => {
        await run(cmd, async (c) => {
          const organizationId = o.org ? (await findOrganization(c, o.org)).id : null;
          const r = await createEndpoint(
            c,
            CLI_ACTOR,
            { url: o.url, events: o.events, description: o.description, headers: o.header, organizationId },
            CLI_CONTEXT,
          );
          if (o.json) emitResult(io, true, { ...r.endpoint, secret: r.secret }, () => '');
          else io.out(secretText('created')(r));
        });
      },
    );

  wh.command('update <id>')
    .description('Change an endpoint (only the options given)')
    .option('--url <url>')
    .option('--events <list>', 'comma-separated; replaces the list', eventList)
    .option('--description <text>', 'an empty string clears it')
    .option('--header <name:value>', 'replaces every custom header (repeatable)', collectHeader)
    .option('--clear-headers', 'remove every custom header')
    .option('--enable', 'enable (clears the failure record)')
    .option('--disable', 'disable (reason: manual)')
    .option('--json', 'print one JSON document')
    .action(
      async (
        id: string,
        o: Json & {
          url?: string;
          events?: string[];
          description?: string;
          header?: Record<string, string>;
          clearHeaders?: boolean;
          enable?: boolean;
          disable?: boolean;
        },
        cmd: Command,
      ) => {
        const wanted = endpointId(id);
        if (o.enable && o.disable)
          throw new ExitWith(EXIT.USAGE, 'error: --enable and --disable exclude each other');
        if (o.header && o.clearHeaders)
          throw new ExitWith(EXIT.USAGE, 'error: --header and --clear-headers exclude each other');
        await run(cmd, async (c) => {
          const e = await updateEndpoint(
            c,
            CLI_ACTOR,
            wanted,
            {
              url: o.url,
              events: o.events,
              description: o.description === undefined ? undefined : o.description || null,
              headers: o.clearHeaders ? {} : o.header,
              isActive: o.enable ? true : o.disable ? false : undefined,
            },
            CLI_CONTEXT,
          );
          emitResult(io, o.json, e, endpointText);
        });
      },
    );

  wh.command('delete <id>')
    .description('Delete an endpoint and its delivery history')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: Json & { yes?: boolean }, cmd: Command) => {
      const wanted = endpointId(id);
      await run(cmd, async (c) => {
        const e = await getEndpoint(c, CLI_ACTOR, wanted);
        await confirmDestructive(
          o.yes,
          `delete webhook endpoint ${e.id} (${e.url}) and its delivery history`,
        );
        await deleteEndpoint(c, CLI_ACTOR, wanted, CLI_CONTEXT);
        emitResult(io, o.json, { deleted: true, id: e.id }, (d) => `deleted webhook endpoint ${d.id}\n`);
      });
    });

  wh.command('rotate-secret <id>')
    .description(
      'A new signing secret, printed once; the old one signs beside it for WEBHOOK_SECRET_GRACE_HOURS',
    )
    .option('--json', 'print one JSON document: the endpoint with its new secret')
    .action(async (id: string, o: Json, cmd: Command) => {
      const wanted = endpointId(id);
      await run(cmd, async (c) => {
        const r = await rotateSecret(c, CLI_ACTOR, wanted, CLI_CONTEXT);
        if (o.json) emitResult(io, true, { ...r.endpoint, secret: r.secret }, () => '');
        else
          io.out(
            `${secretText('rotated the secret of')(r)}The previous secret keeps signing until ${
              r.endpoint.previous_secret_expires_at ?? 'now (no grace period)'
            }.\n`,
          );
      });
    });

  wh.command('test <id>')
    .description('Queue one webhook.test event to this endpoint (the running daemon sends it)')
    .option('--json', 'print one JSON document: {delivery_id, event_id}')
    .action(async (id: string, o: Json, cmd: Command) => {
      const wanted = endpointId(id);
      await run(cmd, async (c) => {
        const t = await sendTestEvent(c, CLI_ACTOR, wanted, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { delivery_id: t.deliveryId, event_id: t.eventId },
          (d) =>
            `queued test delivery ${d.delivery_id}; follow it with: janua webhooks delivery ${d.delivery_id}\n`,
        );
      });
    });

  wh.command('deliveries')
    .description('Deliveries, newest first')
    .option('--webhook <id>', "only this endpoint's", endpointId)
    .option('--status <status>', 'pending, retrying, succeeded or failed')
    .option('--event <type>', 'only this event type')
    .option('--since <time>', 'created at or after: ISO 8601 or a span back from now (24h, 7d)', (v) =>
      parseTimeArg(v),
    )
    .option('--until <time>', 'created before: ISO 8601 or a span back from now', (v) => parseTimeArg(v))
    .option('--limit <n>', 'at most this many (default 50)', int(1, 200))
    .option('--offset <n>', 'skip this many', int(0, 100_000_000))
    .option('--json', 'print one JSON document: {deliveries, total, limit, offset}')
    .action(
      async (
        o: Json & {
          webhook?: string;
          status?: string;
          event?: string;
          since?: Date;
          until?: Date;
          limit?: number;
          offset?: number;
        },
        cmd: Command,
      ) => {
        await run(cmd, async (c) => {
          const r = await listDeliveries(c, CLI_ACTOR, {
            endpointId: o.webhook,
            status: o.status,
            eventType: o.event,
            since: o.since,
            until: o.until,
            limit: o.limit,
            offset: o.offset,
          });
          emitResult(io, o.json, r, (d) =>
            d.deliveries.length
              ? `${table(d.deliveries, DELIVERY_COLUMNS)}(${d.deliveries.length} of ${d.total})\n`
              : 'no deliveries match\n',
          );
        });
      },
    );

  wh.command('delivery <id>')
    .description('One delivery, with the exact body sent')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: Json, cmd: Command) => {
      const wanted = deliveryId(id);
      await run(cmd, async (c) => {
        const d = await getDelivery(c, CLI_ACTOR, wanted);
        emitResult(
          io,
          o.json,
          d,
          (x) =>
            `${table([x], DELIVERY_COLUMNS)}\nbody:\n${x.body}\n${
              x.response_body !== null ? `\nlast response body:\n${x.response_body}\n` : ''
            }`,
        );
      });
    });

  return wh;
}
