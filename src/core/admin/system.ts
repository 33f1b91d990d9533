/** `GET /api/v1/admin/system/config`: what this node runs with — secrets redacted, no key material. */
import { redactConfig } from '../config/load.js';
import type { Deps } from '../deps.js';
import { listKeys, presentKey } from '../keys/keys.js';
import { migrationStatus } from '../store/migrator.js';
import { JANUA_VERSION } from '../version.js';

export async function systemOverview(deps: Pick<Deps, 'config' | 'store' | 'masterKey' | 'box'>) {
  const [migrations, keys] = await Promise.all([migrationStatus(deps.store), listKeys(deps)]);
  return {
    version: JANUA_VERSION,
    config: redactConfig(deps.config),
    database: {
      dialect: deps.store.dialect,
      migrations: migrations.map((m) => ({
        version: m.version,
        name: m.name,
        state: m.state,
        applied_at: m.applied_at,
      })),
      pending_migrations: migrations.filter((m) => m.state === 'pending').length,
    },
    /** Where the master key came from (env, file, generated), never the key. */
    master_key_source: deps.masterKey.source,
    /** The ids (not the keys) of the master key that seals and of the earlier ones still accepted. */
    master_key_id: deps.masterKey.source === 'missing' ? null : deps.box.keyId,
    previous_master_key_ids: deps.masterKey.source === 'missing' ? [] : deps.box.keyIds.slice(1),
    keys: keys.map(presentKey),
  };
}

export type SystemOverview = Awaited<ReturnType<typeof systemOverview>>;
