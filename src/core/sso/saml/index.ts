/** The SAML engine: pure functions over XML and keys (no database, no HTTP). */
export { buildAuthnRequest } from './authn-request.js';
export { generateSpKeyPair } from './keys.js';
export { buildSpMetadata, parseIdpMetadata } from './metadata.js';
export { installSchemaValidator, schemaErrors } from './schema.js';
export * from './types.js';
export { explainSamlResponse, validateSamlResponse } from './validate.js';
