/**
 * XSD validation of SAML messages against the SAML 2.0 protocol schema (assets/saml-schemas), with libxml2's
 * xmllint compiled to WebAssembly (xmllint-wasm) in one long-lived worker (./xmllint-worker.ts): a real
 * validator, no native build and no child process; ~6 ms a message, memory flat.
 * It is also samlify's schema validator (samlify refuses to parse anything without one), so the library and
 * the ACS check messages the same way. Every run is offline: the schemas import each other by local name.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as samlify from 'samlify';

interface XMLFileInfo {
  fileName: string;
  contents: string;
}

const FILES = [
  'saml-schema-protocol-2.0.xsd',
  'saml-schema-assertion-2.0.xsd',
  'xmldsig-core-schema.xsd',
  'xenc-schema.xsd',
] as const;

let schemas: XMLFileInfo[] | undefined;
function loadSchemas(): XMLFileInfo[] {
  if (!schemas) {
    // dist/src/core/sso/saml/schema.js and src/core/sso/saml/schema.ts are both five levels below the root.
    const dir = new URL('../../../../../assets/saml-schemas/', import.meta.url);
    const root = new URL('../../../../assets/saml-schemas/', import.meta.url);
    const read = (f: string) => {
      try {
        return readFileSync(new URL(f, dir), 'utf8');
      } catch {
        return readFileSync(new URL(f, root), 'utf8');
      }
    };
    schemas = FILES.map((fileName) => ({ fileName, contents: read(fileName) }));
  }
  return schemas;
}

let worker: Worker | undefined;
let seq = 0;
const waiting = new Map<number, (r: { exitCode: number; stderr: string }) => void>();

/** The xmllint worker (./xmllint-worker.ts), started on first use. */
function xmllint(): Worker {
  if (!worker) {
    const w = new Worker(new URL('./xmllint-worker.js', import.meta.url));
    w.on('message', (m: { id: number; exitCode: number; stderr: string; janua?: boolean }) => {
      if (m?.janua !== true) return;
      waiting.get(m.id)?.(m);
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
    });
    const fail = (err: unknown) => {
      worker = undefined;
      for (const resolve of waiting.values())
        resolve({ exitCode: -1, stderr: `xmllint worker failed: ${String(err)}` });
      waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(`exited ${code}`));
    // Referenced only while a validation is pending: an idle worker never keeps the process alive.
    w.unref();
    worker = w;
  }
  return worker;
}

/** Validates a SAML protocol message; resolves with the schema errors (empty when valid). */
export async function schemaErrors(xml: string): Promise<string[]> {
  const files = [{ fileName: 'message.xml', contents: xml }, ...loadSchemas()];
  const id = ++seq;
  const w = xmllint();
  const r = await new Promise<{ exitCode: number; stderr: string }>((resolve) => {
    waiting.set(id, resolve);
    w.ref();
    w.postMessage({
      janua: true,
      id,
      files,
      args: ['--noout', '--nonet', '--schema', FILES[0], 'message.xml'],
    });
  });
  if (r.exitCode === 0) return [];
  if (r.exitCode !== 3 && r.exitCode !== 4)
    throw new Error(`the XML schema validator failed: ${r.stderr.slice(0, 300)}`);
  const errors = r.stderr
    .split('\n')
    .filter((l) => l && !l.endsWith('fails to validate') && !l.endsWith(' validates'))
    .map((l) => l.replace(/^message\.xml:\d+:\s*/, ''));
  return errors.length ? errors.slice(0, 5) : ['the message does not match the SAML 2.0 protocol schema'];
}

let installed = false;
/** Makes our validator samlify's (once per process). */
export function installSchemaValidator(): void {
  if (installed) return;
  samlify.setSchemaValidator({
    validate: async (xml: string) => {
      const errors = await schemaErrors(xml);
      if (errors.length) throw new Error(`ERR_INVALID_XML: ${errors.join('; ')}`);
      return 'valid';
    },
  });
  installed = true;
}
