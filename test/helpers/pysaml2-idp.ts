/**
 * The second, independent IdP of the SSO tests: pysaml2 over xmlsec1 (Debian python3-pysaml2, installed by
 * .ci/run), driven through test/helpers/pysaml2_idp.py — one python process per call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/test/helpers/pysaml2-idp.js → the script beside the source (tsc copies no .py).
const SCRIPT = fileURLToPath(new URL('../../../test/helpers/pysaml2_idp.py', import.meta.url));

/** Debian's interpreter: python3-pysaml2 installs for it (a pyenv or venv python3 on PATH would not see it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function pysaml2Available(): boolean {
  return (
    existsSync('/usr/bin/xmlsec1') &&
    spawnSync(PYTHON, ['-c', 'import saml2'], { stdio: 'ignore' }).status === 0
  );
}

function run(req: Record<string, unknown>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        const body = JSON.parse(out) as Record<string, string>;
        if (code === 0) resolve(body);
        else reject(new Error(`pysaml2: ${body['error'] ?? out} ${err}`));
      } catch {
        reject(new Error(`pysaml2 exited ${code}: ${out} ${err}`));
      }
    });
    p.stdin.end(JSON.stringify(req));
  });
}

export interface Pysaml2Idp {
  entityId: string;
  ssoUrl: string;
  keyPem: string;
  certPem: string;
}

export async function pysaml2Metadata(idp: Pysaml2Idp): Promise<string> {
  const r = await run({
    cmd: 'metadata',
    entity_id: idp.entityId,
    sso_url: idp.ssoUrl,
    key_pem: idp.keyPem,
    cert_pem: idp.certPem,
  });
  return r['metadata_xml'] as string;
}

export interface Pysaml2ResponseOptions {
  /** Our SP metadata (GET /api/v1/sso/metadata/{id}): pysaml2 takes the audience and encryption key from it. */
  spMetadataXml: string;
  spEntityId: string;
  acsUrl: string;
  inResponseTo: string | null;
  nameId: string;
  attributes?: Record<string, string[]>;
  signResponse?: boolean;
  signAssertion?: boolean;
  encryptAssertion?: boolean;
  authnContextClassRef?: string;
}

/** A SAMLResponse (base64) made and signed by pysaml2 + xmlsec1. */
export async function pysaml2Response(idp: Pysaml2Idp, o: Pysaml2ResponseOptions): Promise<string> {
  const r = await run({
    cmd: 'response',
    entity_id: idp.entityId,
    sso_url: idp.ssoUrl,
    key_pem: idp.keyPem,
    cert_pem: idp.certPem,
    sp_metadata_xml: o.spMetadataXml,
    sp_entity_id: o.spEntityId,
    acs_url: o.acsUrl,
    in_response_to: o.inResponseTo,
    name_id: o.nameId,
    attributes: o.attributes ?? {},
    sign_response: o.signResponse ?? true,
    sign_assertion: o.signAssertion ?? true,
    encrypt_assertion: o.encryptAssertion ?? false,
    ...(o.authnContextClassRef ? { authn_context_class_ref: o.authnContextClassRef } : {}),
  });
  return r['saml_response'] as string;
}
