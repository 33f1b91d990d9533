import helmet from '@fastify/helmet';
import Fastify from 'fastify';

/** Helmet's options for the API. The API serves JSON; the strict default CSP would only block the /docs UI. */
export const HELMET_OPTIONS = { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false } as const;
/** Headers every response carries whether or not helmet is there. */
const GENERIC_HEADERS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);

/**
 * Helmet's security headers, computed once. With CSP off they do not depend on the request, but
 * @fastify/helmet rebuilds helmet's middleware on every request (a third of the CPU of a JWKS answer), so
 * they are read once from a probe instance and then set as they are.
 */
export async function securityHeaders(): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, HELMET_OPTIONS);
  probe.get('/', async () => 'ok');
  const res = await probe.inject({ method: 'GET', url: '/' });
  await probe.close();
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (!GENERIC_HEADERS.has(name.toLowerCase()) && typeof value === 'string') out[name] = value;
  }
  if (!out['x-content-type-options']) throw new Error('helmet probe returned no security headers');
  return out;
}
