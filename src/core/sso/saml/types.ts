/** The SAML engine's contract: what the flow gives it and what it answers (pure: no database, no HTTP). */

export interface SpConfig {
  entityId: string;
  /** The URL the response is posted to: Destination and Recipient must name exactly it. */
  acsUrl: string;
  /** PEM private keys able to decrypt, current first (after a rotation the previous one still opens). */
  decryptionKeys: string[];
  /** PEM key + certificate signing AuthnRequests and published in our metadata. */
  signingKey: string;
  signingCert: string;
  /** Certificates still published during a rotation. */
  extraCerts?: string[];
}

export interface IdpConfig {
  entityId: string;
  ssoUrl: string;
  /** PEM certificates; any one may verify (an IdP rolling its certificate over publishes several). */
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

export type SamlCheck =
  | 'size'
  | 'encoding'
  | 'xml'
  | 'doctype'
  | 'comment'
  | 'schema'
  | 'structure'
  | 'signature'
  | 'decryption'
  | 'status'
  | 'issuer'
  | 'destination'
  | 'audience'
  | 'recipient'
  | 'in_response_to'
  | 'time'
  | 'subject'
  | 'replay';

export interface SamlFailure {
  check: SamlCheck | string;
  /** Words an IdP admin understands. */
  message: string;
}

/** A refused response; `failures` holds every check that failed (the first one is the message). */
export class SamlRefused extends Error {
  constructor(readonly failures: SamlFailure[]) {
    super(failures[0]?.message ?? 'SAML response refused');
  }
}

export interface ValidatedAssertion {
  responseId: string;
  assertionId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  inResponseTo: string | null;
  /** Until when the replay cache must keep the assertion id (latest NotOnOrAfter + skew). */
  replayUntil: Date;
  attributes: Record<string, string[]>;
  authnContextClassRef: string | null;
  encrypted: boolean;
  signedElement: 'response' | 'assertion' | 'both';
}

export interface ValidateOptions {
  /** The base64 form field as posted. */
  samlResponse: string;
  sp: SpConfig;
  idp: IdpConfig;
  /** The request this answers; null: unsolicited, and then the response must not name one. */
  expectedRequestId: string | null;
  now: Date;
  skewSeconds: number;
  /** Cap on the decoded XML, checked before any parsing. */
  maxBytes: number;
}
