/**
 * The reference deployment files stay true to the code: every setting they name exists, the probes are the
 * daemon's, the CronJob runs a job that exists, and the stop timeouts leave room for the shutdown grace period.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { OPTIONS } from '../../src/core/config/schema.js';
import { findScheduledJob } from '../../src/core/jobs/scheduled.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const KNOWN = new Set(OPTIONS.map((o) => o.env));
const graceDefault = Number(OPTIONS.find((o) => o.key === 'shutdownGraceSeconds')!.default);

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes manifests are checked field by field below.
type Doc = any;

test('the Kubernetes sketch: known settings, the daemon probes, a CronJob of a real job, room to stop', () => {
  const docs: Doc[] = parseAllDocuments(read('deploy/kubernetes/janua.yaml')).map((d) => d.toJSON());
  const kinds = docs.map((d) => d.kind);
  for (const k of ['Secret', 'ConfigMap', 'Deployment', 'CronJob'])
    assert.ok(kinds.includes(k), `has a ${k}`);
  const settings = docs
    .filter((d) => d.kind === 'Secret' || d.kind === 'ConfigMap')
    .flatMap((d) => Object.keys(d.stringData ?? d.data ?? {}));
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  settings.push(...(container.env ?? []).map((e: { name: string }) => e.name));
  for (const name of settings) assert.ok(KNOWN.has(name), `${name} is a documented setting`);
  assert.equal(container.args[0], 'serve');
  assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
  assert.equal(container.livenessProbe.httpGet.path, '/health/live');
  assert.ok(pod.terminationGracePeriodSeconds > graceDefault, 'the pod may finish its jobs before SIGKILL');
  const cron = docs.find((d) => d.kind === 'CronJob');
  const args: string[] = cron.spec.jobTemplate.spec.template.spec.containers[0].args;
  assert.deepEqual(args.slice(0, 2), ['cron', 'run']);
  assert.ok(findScheduledJob(args[2]!), `${args[2]} is a scheduled job`);
});

test('the systemd unit: janua serve, SIGTERM, a stop timeout longer than the grace period', () => {
  const unit = read('deploy/systemd/janua.service');
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/janua serve /m);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  const timeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
  assert.ok(timeout > graceDefault);
  for (const m of unit.matchAll(/^Environment=(\w+)=/gm)) assert.ok(KNOWN.has(m[1]!), `${m[1]} is a setting`);
});
