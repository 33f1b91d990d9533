/**
 * What imports from other systems made (migration 0008): one record per source record, keyed by
 * (source, kind, external_id), and each run's checkpoint. The importers in src/core/imports/ are the only callers.
 */

import type { Selectable } from 'kysely';
import { json, toBool, toDate, toDateOrNull, toJson, toNumber } from '../codec.js';
import type { ImportRecordsTable } from '../schema.js';
import type { Executor } from '../store.js';

/** `membership`: external id `<orgExternalId>:<userExternalId>`, local id the user (src/core/imports/orgs.ts). */
export type ImportKind = 'user' | 'organization' | 'role' | 'membership';

export interface ImportRecord {
  source: string;
  kind: ImportKind;
  externalId: string;
  localId: string;
  sourceHash: string;
  needsPassword: boolean;
}

export interface ImportRun {
  id: string;
  source: string;
  inputKey: string;
  state: 'running' | 'completed' | 'failed';
  phase: string;
  position: number;
  stats: Record<string, unknown>;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** SQLite binds at most 32,766 parameters per statement: lookups and inserts go in slices well under it. */
const SLICE = 500;

/** `items` in slices of `size` (statements stay under SQLite's bound-parameter limit). */
export function slices<T>(items: readonly T[], size = SLICE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function decodeRecord(r: Selectable<ImportRecordsTable>): ImportRecord {
  return {
    source: r.source,
    kind: r.kind as ImportKind,
    externalId: r.external_id,
    localId: r.local_id,
    sourceHash: r.source_hash,
    needsPassword: toBool(r.needs_password),
  };
}

export const importRecords = {
  /** The records of `externalIds` that exist, by external id. */
  async findMany(
    ex: Executor,
    source: string,
    kind: ImportKind,
    externalIds: readonly string[],
  ): Promise<Map<string, ImportRecord>> {
    const out = new Map<string, ImportRecord>();
    for (const part of slices([...new Set(externalIds)])) {
      const rows = await ex
        .selectFrom('import_records')
        .selectAll()
        .where('source', '=', source)
        .where('kind', '=', kind)
        .where('external_id', 'in', part)
        .execute();
      for (const r of rows) out.set(r.external_id, decodeRecord(r));
    }
    return out;
  },

  /** The record a local row came from, if an import made it. */
  async findByLocal(ex: Executor, kind: ImportKind, localId: string): Promise<ImportRecord | undefined> {
    const r = await ex
      .selectFrom('import_records')
      .selectAll()
      .where('local_id', '=', localId)
      .where('kind', '=', kind)
      .executeTakeFirst();
    return r && decodeRecord(r);
  },

  /** Inserts or replaces records (keyed by source, kind and external id). */
  async upsertMany(ex: Executor, rows: readonly ImportRecord[], now: Date): Promise<void> {
    for (const part of slices(rows, 200)) {
      await ex
        .insertInto('import_records')
        .values(
          part.map((r) => ({
            source: r.source,
            kind: r.kind,
            external_id: r.externalId,
            local_id: r.localId,
            source_hash: r.sourceHash,
            needs_password: r.needsPassword,
            imported_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['source', 'kind', 'external_id']).doUpdateSet((eb) => ({
            local_id: eb.ref('excluded.local_id'),
            source_hash: eb.ref('excluded.source_hash'),
            needs_password: eb.ref('excluded.needs_password'),
            updated_at: now,
          })),
        )
        .execute();
    }
  },

  /** Marks users of a source as having (false) or lacking (true) a password. */
  async setNeedsPassword(
    ex: Executor,
    source: string,
    localIds: readonly string[],
    needsPassword: boolean,
    now: Date,
  ): Promise<void> {
    for (const part of slices(localIds))
      await ex
        .updateTable('import_records')
        .set({ needs_password: needsPassword, updated_at: now })
        .where('source', '=', source)
        .where('kind', '=', 'user')
        .where('local_id', 'in', part)
        .execute();
  },
};

function decodeRun(r: {
  id: string;
  source: string;
  input_key: string;
  state: string;
  phase: string;
  position: number | string;
  stats: unknown;
  started_at: Date | number | string;
  updated_at: Date | number | string;
  finished_at: Date | number | string | null;
}): ImportRun {
  return {
    id: r.id,
    source: r.source,
    inputKey: r.input_key,
    state: r.state as ImportRun['state'],
    phase: r.phase,
    position: toNumber(r.position),
    stats: toJson<Record<string, unknown>>(r.stats) ?? {},
    startedAt: toDate(r.started_at),
    updatedAt: toDate(r.updated_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export const importRuns = {
  /** The latest unfinished run over the same inputs, which the next run resumes. */
  async findResumable(ex: Executor, source: string, inputKey: string): Promise<ImportRun | undefined> {
    const r = await ex
      .selectFrom('import_runs')
      .selectAll()
      .where('source', '=', source)
      .where('input_key', '=', inputKey)
      .where('state', '=', 'running')
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    return r && decodeRun(r);
  },

  async findById(ex: Executor, id: string): Promise<ImportRun | undefined> {
    const r = await ex.selectFrom('import_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && decodeRun(r);
  },

  async insert(
    ex: Executor,
    run: Pick<ImportRun, 'id' | 'source' | 'inputKey' | 'phase'>,
    now: Date,
  ): Promise<ImportRun> {
    const r = await ex
      .insertInto('import_runs')
      .values({
        id: run.id,
        source: run.source,
        input_key: run.inputKey,
        state: 'running',
        phase: run.phase,
        position: 0,
        stats: json({}),
        started_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return decodeRun(r);
  },

  /** Records how far the run got: called in the transaction that wrote the batch, so the two commit together. */
  async checkpoint(
    ex: Executor,
    id: string,
    at: { phase: string; position: number; stats: Record<string, unknown> },
    now: Date,
  ): Promise<void> {
    await ex
      .updateTable('import_runs')
      .set({ phase: at.phase, position: at.position, stats: json(at.stats), updated_at: now })
      .where('id', '=', id)
      .execute();
  },

  async finish(
    ex: Executor,
    id: string,
    state: 'completed' | 'failed',
    stats: Record<string, unknown>,
    now: Date,
  ): Promise<void> {
    await ex
      .updateTable('import_runs')
      .set({ state, stats: json(stats), updated_at: now, finished_at: now })
      .where('id', '=', id)
      .execute();
  },

  /** Abandons unfinished runs over these inputs (`--restart`). */
  async abandon(ex: Executor, source: string, inputKey: string, now: Date): Promise<void> {
    await ex
      .updateTable('import_runs')
      .set({ state: 'failed', updated_at: now, finished_at: now })
      .where('source', '=', source)
      .where('input_key', '=', inputKey)
      .where('state', '=', 'running')
      .execute();
  },
};
