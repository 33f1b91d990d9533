/**
 * The personal-data registry (issue 15): every provider, in the order an export lists them. Erasure runs them
 * in ERASE_ORDER — free text first (it needs the subject's strings, which it read up front), the account row
 * last (the others still find the user while they run). A new module that stores personal data adds its
 * provider here; test/unit/gdpr-registry.test.ts fails until it does.
 */
import type { Deps } from '../deps.js';
import { notFound } from '../errors.js';
import type { PersonalDataProvider, ProviderDeps } from './provider.js';
import {
  emailLinksProvider,
  identitiesProvider,
  profileProvider,
  sessionsProvider,
  signInAttemptsProvider,
  signInCodesProvider,
} from './providers/account.js';
import { consentProvider, importsProvider, requestsProvider } from './providers/compliance.js';
import { mfaProvider, passkeysProvider } from './providers/factors.js';
import { jobsProvider, mailProvider, webhookDeliveriesProvider } from './providers/messages.js';
import { organizationsProvider } from './providers/organizations.js';
import { auditProvider, eventsProvider } from './providers/trail.js';
import { type DataSubject, loadSubject } from './subject.js';

export const PROVIDERS: readonly PersonalDataProvider[] = [
  profileProvider,
  sessionsProvider,
  organizationsProvider,
  mfaProvider,
  passkeysProvider,
  identitiesProvider,
  emailLinksProvider,
  signInCodesProvider,
  signInAttemptsProvider,
  consentProvider,
  auditProvider,
  eventsProvider,
  mailProvider,
  webhookDeliveriesProvider,
  jobsProvider,
  requestsProvider,
  importsProvider,
];

export const ERASE_ORDER: readonly PersonalDataProvider[] = [
  auditProvider,
  eventsProvider,
  webhookDeliveriesProvider,
  mailProvider,
  jobsProvider,
  consentProvider,
  requestsProvider,
  importsProvider,
  organizationsProvider,
  emailLinksProvider,
  signInCodesProvider,
  signInAttemptsProvider,
  identitiesProvider,
  mfaProvider,
  passkeysProvider,
  sessionsProvider,
  profileProvider,
];

export interface UserDataSection {
  /** The provider's name: `<name>.json` in an archive. */
  name: string;
  description: string;
  data: unknown;
}

export interface UserData {
  subject: DataSubject;
  sections: UserDataSection[];
}

/** Everything every provider holds about the user (NOT_FOUND when there is no such user). */
export async function collectUserData(
  deps: ProviderDeps & Pick<Deps, 'peppers'>,
  userId: string,
): Promise<UserData> {
  const ex = deps.store.db;
  const subject = await loadSubject(ex, deps, userId);
  if (!subject) throw notFound(`User ${userId} not found`);
  const sections: UserDataSection[] = [];
  for (const p of PROVIDERS)
    sections.push({ name: p.name, description: p.description, data: await p.export(ex, subject, deps) });
  return { subject, sections };
}
