/**
 * The data-export archive (GDPR Art. 15 right of access, Art. 20 portability: "structured, commonly used and
 * machine-readable format"). One file per provider section plus a manifest whose SHA-256 checksums let the
 * subject verify that nothing was altered in transit or storage. Pure function of (userData, format, now).
 */
import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import type { UserData } from './registry.js';

export type ExportFormat = 'json' | 'zip';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'zip'];

export interface ManifestFile {
  name: string;
  description: string;
  sha256: string;
  bytes: number;
}

export interface ExportManifest {
  format: 'janua-data-export';
  version: 1;
  generated_at: string;
  user_id: string;
  files: ManifestFile[];
}

export interface Archive {
  bytes: Buffer;
  contentType: string;
  fileName: string;
  sha256: string;
  manifest: ExportManifest;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Pretty JSON, the same text a zip entry holds and a JSON export's checksum is computed over. */
export function sectionText(data: unknown): string {
  return `${JSON.stringify(data ?? null, null, 2)}\n`;
}

export function buildArchive(userData: UserData, format: ExportFormat, now: Date): Archive {
  const userId = userData.subject.userId;
  const texts = userData.sections.map((s) => ({ section: s, text: sectionText(s.data) }));
  const manifest: ExportManifest = {
    format: 'janua-data-export',
    version: 1,
    generated_at: now.toISOString(),
    user_id: userId,
    files: texts.map(({ section, text }) => {
      const bytes = Buffer.from(text, 'utf8');
      return {
        name: format === 'zip' ? `${section.name}.json` : section.name,
        description: section.description,
        sha256: sha256Hex(bytes),
        bytes: bytes.length,
      };
    }),
  };
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let bytes: Buffer;
  if (format === 'zip') {
    const entries: Record<string, Uint8Array> = { 'manifest.json': strToU8(sectionText(manifest)) };
    for (const { section, text } of texts) entries[`${section.name}.json`] = strToU8(text);
    // A fixed mtime keeps the archive bytes a function of the data and `now` alone.
    bytes = Buffer.from(zipSync(entries, { level: 6, mtime: now }));
  } else {
    const data: Record<string, unknown> = {};
    for (const s of userData.sections) data[s.name] = s.data ?? null;
    bytes = Buffer.from(sectionText({ manifest, data }), 'utf8');
  }
  return {
    bytes,
    contentType: format === 'zip' ? 'application/zip' : 'application/json',
    fileName: `janua-export-${userId}-${stamp}.${format}`,
    sha256: sha256Hex(bytes),
    manifest,
  };
}
