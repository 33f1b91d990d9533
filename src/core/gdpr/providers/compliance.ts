/**
 * The compliance module's own records and the migration records: consent history, export and erasure
 * requests, deletion receipts, what an import made of the user. Records that must outlive the user are kept
 * under their pseudonym: the consent history (proof of consent, GDPR Art. 7(1)), requests, and the import
 * record (so re-running the same Auth0 export does not bring an erased user back: the importer reports the
 * account as deleted and does not recreate it).
 */
import { toBool } from '../../store/codec.js';
import type { PersonalDataProvider } from '../provider.js';
import { affected, iso } from './dates.js';

export const consentProvider: PersonalDataProvider = {
  name: 'consents',
  description: 'Consent history: every grant and withdrawal, with purpose, legal basis, version and source',
  covers: ['consent_records.user_id', 'consent_records.ip', 'consent_records.user_agent'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('consent_records')
      .selectAll()
      .where('user_id', '=', s.userId)
      .orderBy('recorded_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      purpose: r.purpose,
      granted: toBool(r.granted),
      legal_basis: r.legal_basis,
      version: r.version,
      source: r.source,
      ip: r.ip,
      user_agent: r.user_agent,
      recorded_at: iso(r.recorded_at),
    }));
  },
  async erase(tx, s) {
    return affected(
      await tx
        .updateTable('consent_records')
        .set({ user_id: s.pseudonym, ip: null, user_agent: null })
        .where('user_id', '=', s.userId)
        .executeTakeFirst(),
    );
  },
};

export const requestsProvider: PersonalDataProvider = {
  name: 'privacy_requests',
  description:
    'Data export and erasure requests, and deletion receipts naming this account as the one who acted',
  covers: [
    'gdpr_requests.user_id',
    'gdpr_requests.requested_by',
    'gdpr_requests.reason',
    'gdpr_exports.request_id',
    'deletion_receipts.executed_by',
  ],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('gdpr_requests')
      .select([
        'id',
        'kind',
        'status',
        'requested_by_type',
        'reason',
        'format',
        'due_at',
        'created_at',
        'completed_at',
        'cancelled_at',
      ])
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      status: r.status,
      requested_by: r.requested_by_type,
      reason: r.reason,
      format: r.format,
      due_at: iso(r.due_at),
      created_at: iso(r.created_at),
      completed_at: iso(r.completed_at),
      cancelled_at: iso(r.cancelled_at),
    }));
  },
  async erase(tx, s, _deps, now) {
    // Archives of earlier exports are the user's data in full: gone. Open requests end here.
    const ids = tx.selectFrom('gdpr_requests').select('id').where('user_id', '=', s.userId);
    let n = affected(await tx.deleteFrom('gdpr_exports').where('request_id', 'in', ids).executeTakeFirst());
    n += affected(
      await tx
        .updateTable('gdpr_requests')
        .set({
          status: 'cancelled',
          cancelled_at: now,
          updated_at: now,
          last_error: 'the account was erased',
        })
        .where('user_id', '=', s.userId)
        .where('kind', '=', 'export')
        .where('status', 'in', ['pending', 'running'])
        .executeTakeFirst(),
    );
    n += affected(
      await tx
        .updateTable('gdpr_requests')
        .set({ user_id: s.pseudonym, reason: null })
        .where('user_id', '=', s.userId)
        .executeTakeFirst(),
    );
    n += affected(
      await tx
        .updateTable('gdpr_requests')
        .set({ requested_by: null })
        .where('requested_by', '=', s.userId)
        .executeTakeFirst(),
    );
    n += affected(
      await tx
        .updateTable('deletion_receipts')
        .set({ executed_by: null })
        .where('executed_by', '=', s.userId)
        .executeTakeFirst(),
    );
    return n;
  },
};

export const importsProvider: PersonalDataProvider = {
  name: 'migration',
  description: 'Where the account came from when it was imported (source system and its user id)',
  covers: ['import_records.local_id', 'import_records.external_id'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('import_records')
      .select(['source', 'kind', 'external_id', 'imported_at', 'updated_at'])
      .where('local_id', '=', s.userId)
      .where('kind', '=', 'user')
      .execute();
    return rows.map((r) => ({
      source: r.source,
      external_id: r.external_id,
      imported_at: iso(r.imported_at),
      updated_at: iso(r.updated_at),
    }));
  },
  async erase(tx, s) {
    return affected(
      await tx
        .updateTable('import_records')
        .set({ local_id: s.pseudonym })
        .where('local_id', '=', s.userId)
        .where('kind', '=', 'user')
        .executeTakeFirst(),
    );
  },
};
