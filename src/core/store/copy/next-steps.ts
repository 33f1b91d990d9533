/** What an operator changes after `janua db copy` so that janua runs on the copy, as sentences to print. */
import { maskDatabaseUrl } from '../../config/load.js';
import type { JanuaConfig } from '../../config/schema.js';
import { loadMasterKey } from '../../crypto/master-key.js';

export function nextSteps(
  config: Pick<
    JanuaConfig,
    'masterKey' | 'masterKeyFile' | 'masterKeyPrevious' | 'masterKeyPreviousFile' | 'dataDir'
  >,
  targetUrl: string,
): string[] {
  const steps = [
    `Point every janua node at the copy: DATABASE_URL=${maskDatabaseUrl(targetUrl)} (or --database-url).`,
  ];
  let key: ReturnType<typeof loadMasterKey> | undefined;
  try {
    key = loadMasterKey(config, false);
  } catch {
    key = undefined;
  }
  const why = "the signing keys' private halves and other secrets in the copy are sealed with it";
  if (key?.source === 'env') steps.push(`Keep the same JANUA_MASTER_KEY: ${why}.`);
  else if (key && config.masterKeyFile)
    steps.push(`Keep JANUA_MASTER_KEY_FILE=${key.path} (the same key on every node): ${why}.`);
  else if (key)
    steps.push(
      `Carry the master key ${key.path} over to the new installation and set JANUA_MASTER_KEY_FILE to it (or keep JANUA_DATA_DIR=${config.dataDir}): ${why}, and without it janua would generate a new one that cannot open them.`,
    );
  else
    steps.push(
      `No master key was found for the source (JANUA_MASTER_KEY, JANUA_MASTER_KEY_FILE or ${config.dataDir}/master.key): give janua the key the source ran with; ${why}.`,
    );
  if (key?.previous.length)
    steps.push(
      'Keep the earlier master keys too (JANUA_MASTER_KEY_PREVIOUS or its file) until `janua keys rotate-master` has run.',
    );
  steps.push(
    'Changes written to the source after the copy are not in it: stop janua while copying, or run the copy again with --force just before switching.',
  );
  return steps;
}
