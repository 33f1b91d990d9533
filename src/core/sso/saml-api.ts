// The SAML engine as the SSO flow uses it (kept as one import point for the flow's modules).
export * from './saml/index.js';
