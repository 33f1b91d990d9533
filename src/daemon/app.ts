/**
 * buildApp(deps) assembles the Fastify application and never listens (fastify's testing guide): tests call
 * `app.inject()`, `serve` calls `listen`.
 */
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Deps } from '../core/deps.js';
import { OutageWatch } from '../core/store/outage.js';
import { JANUA_VERSION } from '../core/version.js';
import { registerErrorHandling } from './errors.js';
import { acceptEmptyJsonBody } from './json-body.js';
import { LazyChildLogger } from './lazy-logger.js';
import { type RequestObserver, requestObserver } from './observe.js';
import { authentication } from './plugins/authenticate.js';
import { maintenanceGate } from './plugins/maintenance.js';
import { rateLimit } from './plugins/rate-limit.js';
import { textRules } from './plugins/text-rules.js';
import { type CounterStore, MemoryCounterStore, RedisCounterStore } from './rate-limit-store.js';
import { requestId } from './request-id.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { authFlowRoutes } from './routes/auth-flows.js';
import { complianceConsentRoutes } from './routes/compliance-consent.js';
import { complianceDeletionRoutes } from './routes/compliance-deletion.js';
import { complianceExportRoutes } from './routes/compliance-export.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { mfaRoutes } from './routes/mfa.js';
import { organizationRoutes } from './routes/organizations.js';
import { passkeyRoutes } from './routes/passkeys.js';
import { rbacRoutes } from './routes/rbac.js';
import { roleRoutes } from './routes/roles.js';
import { sessionRoutes } from './routes/sessions.js';
import { ssoRoutes } from './routes/sso.js';
import { ssoFlowRoutes } from './routes/sso-flow.js';
import { userRoutes } from './routes/users.js';
import { webhookDeliveryRoutes } from './routes/webhook-deliveries.js';
import { webhookRoutes } from './routes/webhooks.js';
import { webhookReplayRoutes } from './routes/webhooks-replay.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { ErrorBody } from './schemas.js';
import { SECURITY_HEADERS } from './security-headers.js';

export interface AppOptions {
  /** Log through the container's logger, one access line per request (serve: yes; in-process tests: no). */
  logger?: boolean;
  /** What records each answer (serve shares it with the JWKS lane); by default made from `logger`. */
  observer?: RequestObserver | undefined;
  counterStore?: CounterStore;
  /** Logs database outages once per transition (serve hands in the one its key reloads report to). */
  outage?: OutageWatch;
}

/**
 * Fastify's own request lines ("incoming request" and "request completed", two per request) give way to
 * the one access line of observe.ts; "incoming request" is kept at debug, where a request that never
 * completes can be found by its id. Fastify's other lines (a failed response stream, a serializer error)
 * stay as they are.
 */
class AccessLogController extends LogController {
  override incomingRequest(request: Parameters<LogController['incomingRequest']>[0]): void {
    request.log.debug({ req: request }, 'incoming request');
  }
  override requestCompleted(...args: Parameters<LogController['requestCompleted']>): void {
    if (args[0]) super.requestCompleted(...args);
  }
}

/**
 * Two validators: bodies are checked strictly (a number where a string belongs is an error, not coerced),
 * while query strings and path parameters — always text on the wire — are coerced to their schema types.
 */
function validators() {
  const common = {
    allErrors: false,
    removeAdditional: true,
    useDefaults: true,
    allowUnionTypes: true,
    strict: false,
  } as const;
  // verbose: a body error carries the refused value and its schema, so "no body" can name the fields it needs.
  const body = new Ajv({ ...common, coerceTypes: false, verbose: true });
  const text = new Ajv({ ...common, coerceTypes: 'array' });
  for (const ajv of [body, text]) (addFormats as unknown as (a: Ajv) => void)(ajv);
  return { body, text };
}

export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const observe = 'observer' in options ? options.observer : requestObserver(deps, { log: !!options.logger });
  const app = Fastify({
    // Only with a real (pino) logger; a route-level log level changes what the child writes, so with one
    // the child is made as Fastify would.
    ...(options.logger
      ? {
          loggerInstance: deps.logger as FastifyBaseLogger,
          logController: new AccessLogController({ requestIdLogLabel: 'request_id' }),
          childLoggerFactory: (logger, bindings, opts) =>
            opts.level
              ? logger.child(bindings, opts)
              : (new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger),
        }
      : {}),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: requestId,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? ajv.body : ajv.text).compile(schema),
  );
  app.addSchema(ErrorBody);
  // Before any route: the text rules see routes as they are added, and plugins copy the JSON parser.
  acceptEmptyJsonBody(app);
  await app.register(textRules);

  const outage = options.outage ?? new OutageWatch(deps.store, deps.logger);
  app.addHook('onClose', async () => outage.close());
  registerErrorHandling(app, { shedDelayMs: config.passwordHashShedDelayMs, outage });
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    done();
  });
  if (observe) {
    app.addHook('onResponse', (request, reply, done) => {
      observe({
        method: request.method,
        route: request.is404 ? undefined : request.routeOptions.url,
        url: request.url,
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
        requestId: request.id,
        ip: request.ip,
      });
      done();
    });
  }
  if (config.corsOrigins.length) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      credentials: !config.corsOrigins.includes('*'),
      exposedHeaders: [
        'X-Request-Id',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'Retry-After',
      ],
    });
  }

  const counterStore =
    options.counterStore ??
    (config.redisUrl ? new RedisCounterStore(config.redisUrl, config.redisPrefix) : new MemoryCounterStore());
  app.addHook('onClose', async () => counterStore.close());
  await app.register(rateLimit, { config, store: counterStore });
  await app.register(authentication, { deps });
  await app.register(maintenanceGate, { deps });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Janua API',
        version: JANUA_VERSION,
        description: 'Self-hosted authentication platform',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const redisPing = counterStore.kind === 'redis' ? () => counterStore.ping() : null;
  await app.register(healthRoutes, { deps, redisPing, outage });
  await app.register(wellKnownRoutes, { deps });
  if (config.metricsEnabled) await app.register(metricsRoutes, { deps });
  await app.register(authRoutes, { prefix: '/api/v1/auth', deps });
  await app.register(authFlowRoutes, { prefix: '/api/v1/auth', deps });
  await app.register(mfaRoutes, { prefix: '/api/v1', deps });
  await app.register(adminRoutes, { prefix: '/api/v1', deps, redisPing });
  await app.register(organizationRoutes, { prefix: '/api/v1', deps });
  await app.register(roleRoutes, { prefix: '/api/v1', deps });
  await app.register(rbacRoutes, { prefix: '/api/v1', deps });
  await app.register(userRoutes, { prefix: '/api/v1/users', deps });
  await app.register(sessionRoutes, { prefix: '/api/v1/sessions', deps });
  await app.register(passkeyRoutes, { prefix: '/api/v1/passkeys', deps });
  await app.register(webhookRoutes, { prefix: '/api/v1', deps });
  await app.register(complianceDeletionRoutes, { prefix: '/api/v1', deps });
  await app.register(complianceExportRoutes, { prefix: '/api/v1', deps });
  await app.register(webhookDeliveryRoutes, { prefix: '/api/v1', deps });
  await app.register(webhookReplayRoutes, { prefix: '/api/v1', deps });
  await app.register(complianceConsentRoutes, { prefix: '/api/v1', deps });
  await app.register(ssoRoutes, { prefix: '/api/v1', deps });
  await app.register(ssoFlowRoutes, { prefix: '/api/v1', deps });
  return app;
}
