// Shared by the data tests: fixture paths, temporary folders, and small synthetic images.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** A minimal MNIST-style IDX directory of size×size gray images with two classes (labels alternate 0, 1). */
export function writeTinyIdx(dir: string, o: { train: number; test: number; size: number }): void {
  mkdirSync(dir, { recursive: true });
  const images = (n: number) =>
    Buffer.concat([
      Buffer.from([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, o.size, 0, 0, 0, o.size]),
      Buffer.from(Array.from({ length: n * o.size * o.size }, (_, i) => (i * 11) % 256)),
    ]);
  const labels = (n: number) => Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, n]), Buffer.from(Array.from({ length: n }, (_, i) => i % 2))]);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), images(o.train));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels(o.train));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images(o.test));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels(o.test));
}
