/**
 * The audit trail of a data export (GDPR Art. 5(2) accountability: the controller must be able to show that an
 * access request was answered). Written after the archive is safely stored, so the row exists only for an
 * export that actually happened; the checksum ties the row to the exact bytes handed over.
 */
import type { Deps } from '../deps.js';
import { audit, type RequestContext } from '../events/events.js';
import type { ExportFormat } from './archive.js';

export interface ExportFacts {
  format: ExportFormat;
  sha256: string;
  bytes: number;
}

export async function auditExport(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: string,
  facts: ExportFacts,
  ctx: RequestContext,
): Promise<void> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) =>
    audit(
      tx,
      ctx,
      {
        action: 'gdpr.export.completed',
        targetType: 'user',
        targetId: userId,
        metadata: { format: facts.format, sha256: facts.sha256, bytes: facts.bytes, via: 'cli' },
      },
      now,
    ),
  );
}
