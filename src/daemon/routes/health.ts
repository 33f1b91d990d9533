/** Health probes (API.md "Health Endpoints"): liveness never touches dependencies; readiness does. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { healthReport, readiness } from '../../core/health.js';
import type { OutageWatch } from '../../core/store/outage.js';

export async function healthRoutes(
  app: FastifyInstance,
  opts: { deps: Deps; redisPing: (() => Promise<boolean>) | null; outage?: OutageWatch },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['health'];
  r.get(
    '/health',
    {
      schema: {
        tags,
        summary: 'Basic health check',
        response: { 200: Type.Object({ status: Type.String() }) },
      },
    },
    async () => ({ status: 'healthy' }),
  );
  r.get(
    '/health/detailed',
    {
      schema: {
        tags,
        summary: 'Health of the database, Redis and the key store',
        response: {
          '2xx': Type.Object({
            status: Type.String(),
            database: Type.Boolean(),
            redis: Type.Union([Type.Boolean(), Type.Null()]),
            kms: Type.Boolean(),
          }),
        },
      },
    },
    async (_request, reply) => {
      const report = await healthReport(opts.deps, opts.redisPing);
      reply.status(report.status === 'unhealthy' ? 503 : 200);
      return report;
    },
  );
  r.get(
    '/health/ready',
    {
      schema: {
        tags,
        summary: 'Readiness probe: 503 while the database is unreachable or migrations are pending',
        response: {
          '2xx': Type.Object({
            status: Type.String(),
            database: Type.Boolean(),
            migrations_pending: Type.Union([Type.Integer(), Type.Null()]),
            reason: Type.Union([Type.String(), Type.Null()], {
              description: 'What keeps the node from being ready (null when ready)',
            }),
          }),
        },
      },
    },
    async (_request, reply) => {
      const r = await readiness(opts.deps);
      // A probe that finds the database gone starts the outage log even when no request comes in.
      if (r.error !== undefined) opts.outage?.observe(r.error);
      else if (r.database) opts.outage?.reachable();
      reply.status(r.ready ? 200 : 503);
      return {
        status: r.ready ? 'ready' : 'not_ready',
        database: r.database,
        migrations_pending: r.migrations_pending,
        reason: r.reason,
      };
    },
  );
  r.get(
    '/health/live',
    {
      schema: { tags, summary: 'Liveness probe', response: { 200: Type.Object({ status: Type.String() }) } },
    },
    async () => ({ status: 'alive' }),
  );
}
