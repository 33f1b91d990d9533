// TEMPORARY until the saml-core branch merges: the engine's contract, so the flow compiles meanwhile.
export interface SpConfig {
  entityId: string;
  acsUrl: string;
  decryptionKeys: string[];
  signingKey: string;
  signingCert: string;
  extraCerts?: string[];
  wantAssertionsEncrypted?: boolean;
}
export interface IdpConfig {
  entityId: string;
  ssoUrl: string;
  certificates: string[];
  wantAuthnRequestsSigned: boolean;
}
export interface ParsedIdpMetadata {
  entityId: string;
  ssoRedirectUrl: string | null;
  ssoPostUrl: string | null;
  certificates: string[];
  wantAuthnRequestsSigned: boolean;
  validUntil: Date | null;
}
export type SamlCheck = string;
export interface SamlFailure {
  check: SamlCheck;
  message: string;
}
export class SamlRefused extends Error {
  failures: SamlFailure[] = [];
}
export interface ValidatedAssertion {
  responseId: string;
  assertionId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  inResponseTo: string | null;
  replayUntil: Date;
  attributes: Record<string, string[]>;
  authnContextClassRef: string | null;
  encrypted: boolean;
  signedElement: 'response' | 'assertion' | 'both';
}
export interface ValidateOptions {
  samlResponse: string;
  sp: SpConfig;
  idp: IdpConfig;
  expectedRequestId: string | null;
  now: Date;
  skewSeconds: number;
  maxBytes: number;
}
const todo = (): never => {
  throw new Error('saml engine not merged');
};
export const validateSamlResponse = (_o: ValidateOptions): Promise<ValidatedAssertion> => todo();
export const explainSamlResponse = (
  _o: ValidateOptions,
): Promise<{ ok: boolean; failures: SamlFailure[]; assertion?: ValidatedAssertion }> => todo();
export const parseIdpMetadata = (_xml: string): ParsedIdpMetadata => todo();
export const buildSpMetadata = (_sp: SpConfig): string => todo();
export const buildAuthnRequest = (
  _sp: SpConfig,
  _idp: IdpConfig,
  _relayState: string,
): { id: string; url: string } => todo();
export const generateSpKeyPair = (
  _cn: string,
): Promise<{ privateKeyPem: string; certificatePem: string; notAfter: Date }> => todo();
