/**
 * What each IdP product sends by default, so a connection works without an attribute mapping typed by hand
 * (a mapping given explicitly always wins). Names are those of each product's SAML app templates.
 */
import type { AttributeMapping } from '../store/repos/sso-connections.js';

const MS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

export const PROVIDER_DEFAULTS: Record<string, { label: string; mapping: AttributeMapping }> = {
  okta: {
    label: 'Okta',
    mapping: { email: 'email', first_name: 'firstName', last_name: 'lastName', groups: 'groups' },
  },
  azure_ad: {
    label: 'Microsoft Entra ID (Azure AD)',
    mapping: {
      email: `${MS}/emailaddress`,
      first_name: `${MS}/givenname`,
      last_name: `${MS}/surname`,
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    },
  },
  google: {
    label: 'Google Workspace',
    mapping: { email: 'email', first_name: 'firstName', last_name: 'lastName', groups: 'groups' },
  },
  adfs: {
    label: 'ADFS',
    mapping: {
      email: `${MS}/emailaddress`,
      first_name: `${MS}/givenname`,
      last_name: `${MS}/surname`,
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    },
  },
  keycloak: {
    label: 'Keycloak',
    mapping: { email: 'email', first_name: 'firstName', last_name: 'lastName', groups: 'groups' },
  },
  onelogin: {
    label: 'OneLogin',
    mapping: {
      email: 'User.email',
      first_name: 'User.FirstName',
      last_name: 'User.LastName',
      groups: 'memberOf',
    },
  },
  ping: {
    label: 'PingIdentity',
    mapping: { email: 'email', first_name: 'firstName', last_name: 'lastName', groups: 'memberOf' },
  },
  saml: { label: 'Another SAML 2.0 IdP', mapping: {} },
};
