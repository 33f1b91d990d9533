/**
 * XSD validation of SAML messages against the SAML 2.0 protocol schema (assets/saml-schemas), with libxml2's
 * xmllint compiled to WebAssembly (xmllint-wasm): a real validator, no native build and no child process.
 * It is also samlify's schema validator (samlify refuses to parse anything without one), so the library and
 * the ACS check messages the same way. Every run is offline: the schemas import each other by local name.
 */
import { readFileSync } from 'node:fs';
import * as samlify from 'samlify';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';

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

/** Validates a SAML protocol message; resolves with the schema errors (empty when valid). */
export async function schemaErrors(xml: string): Promise<string[]> {
  const [main, ...imports] = loadSchemas();
  const r = await validateXML({
    xml: [{ fileName: 'message.xml', contents: xml }],
    schema: [main as XMLFileInfo],
    preload: imports,
    modifyArguments: (args) => ['--nonet', ...args],
  });
  if (r.valid) return [];
  const errors = r.errors.map((e) => e.message).filter(Boolean);
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
