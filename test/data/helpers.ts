// Shared by the data tests: fixture paths, temporary folders, and small synthetic images.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures');
export const DATASETS = join(import.meta.dirname, '../../../shared/datasets');

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vitkit-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** FNV-1a over bytes: a compact fingerprint to pin deterministic outputs. */
export function fingerprint(...arrays: ArrayLike<number>[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i] & 0xff), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
