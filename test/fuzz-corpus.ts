// The hostile-input corpus harness: seeded byte-level mutators (truncations, bit flips, length fields set to
// 0 / −1 / 2^31 / 2^63) and a runner that loads every case from disk and checks the promise vitkit makes about
// untrusted files: each case ends, in under MAX_CASE_MS, with a valid load or a one-line UserError naming the
// file, and the whole run stays under MAX_PEAK_BYTES of extra memory. Format-specific cases live beside the
// tests (test/weights/fuzz-cases.ts, test/data/fuzz.test.ts); see docs/security.md.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Rng } from '../src/rng.ts';

export const MAX_CASE_MS = 2000;
export const MAX_PEAK_BYTES = 512 * 2 ** 20;

/** A file's content, or a symbolic link to `link` (relative to the case folder, or absolute). */
export type FuzzFile = Uint8Array | string | { readonly link: string };

/** One hostile input: files written into a fresh folder, and the path (within it) handed to the loader. */
export interface FuzzCase {
  readonly label: string;
  readonly files: Readonly<Record<string, FuzzFile>>;
  readonly target: string;
}

/** A single-file case. */
export const fileCase = (label: string, name: string, bytes: Uint8Array): FuzzCase => ({ label, files: { [name]: bytes }, target: name });

/** Values a length or offset field is set to, per field width in bytes: 0, −1 (all ones), 2^31 and 2^63. */
export const HOSTILE_VALUES: Readonly<Record<2 | 4 | 8, readonly bigint[]>> = {
  2: [0n, 0xffffn, 0x8000n],
  4: [0n, 0xffffffffn, 0x80000000n, 1n],
  8: [0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 31n],
};

/** A copy of `bytes` with the little- (default) or big-endian field at `offset` set to `value`. */
export function setField(bytes: Uint8Array, offset: number, width: 2 | 4 | 8, value: bigint, bigEndian = false): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < width && offset + i < out.length; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    out[bigEndian ? offset + width - 1 - i : offset + i] = byte;
  }
  return out;
}

/** Every hostile value in a field, as cases. */
export function fieldCases(label: string, name: string, bytes: Uint8Array, offset: number, width: 2 | 4 | 8, bigEndian = false): FuzzCase[] {
  return HOSTILE_VALUES[width].map((v) => fileCase(`${label}=${v}`, name, setField(bytes, offset, width, v, bigEndian)));
}

/** `count` prefixes of `bytes`: every length below 16, then random cut points (seeded). */
export function truncations(bytes: Uint8Array, count: number, rng: Rng): Uint8Array[] {
  const cuts = new Set<number>();
  for (let i = 0; i < Math.min(16, bytes.length) && cuts.size < count; i++) cuts.add(i);
  for (let tries = 0; cuts.size < Math.min(count, bytes.length) && tries < 10 * count; tries++) cuts.add(rng.int(bytes.length));
  return [...cuts].map((c) => bytes.subarray(0, c));
}

/** `count` copies of `bytes` with 1–8 random bits flipped, within [from, to) when given. */
export function bitFlips(bytes: Uint8Array, count: number, rng: Rng, from = 0, to = bytes.length): Buffer[] {
  return Array.from({ length: count }, () => {
    const out = Buffer.from(bytes);
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips; i++) out[from + rng.int(Math.max(1, to - from))]! ^= 1 << rng.int(8);
    return out;
  });
}

export interface CorpusStats {
  readonly cases: number;
  readonly loaded: number;
  readonly refused: number;
  readonly slowestMs: number;
  readonly slowest: string;
  readonly peakExtraBytes: number;
  readonly seconds: number;
}

function writeCase(dir: string, c: FuzzCase): void {
  for (const [name, f] of Object.entries(c.files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof f === 'object' && 'link' in f) symlinkSync(f.link, path);
    else writeFileSync(path, f);
  }
}

/**
 * Writes each case to its own temporary folder, runs `load` on it, and asserts the promise: a valid load or a
 * one-line UserError that names the file, within MAX_CASE_MS, with peak extra RSS (sampled after every case)
 * under MAX_PEAK_BYTES. Returns what happened, for the test to report.
 */
export async function runCorpus(cases: Iterable<FuzzCase>, load: (path: string) => unknown): Promise<CorpusStats> {
  const root = mkdtempSync(join(tmpdir(), 'vitkit-fuzz-'));
  const base = process.memoryUsage().rss;
  const t0 = performance.now();
  let [n, loaded, refused, slowestMs, slowest, peak] = [0, 0, 0, 0, '', 0];
  try {
    for (const c of cases) {
      const dir = join(root, `case${n++}`);
      mkdirSync(dir);
      writeCase(dir, c);
      const path = join(dir, c.target);
      const start = performance.now();
      try {
        await load(path);
        loaded++;
      } catch (e) {
        const err = e as Error;
        assert.equal(err.name, 'UserError', `${c.label}: expected a UserError, got ${err.name}: ${err.message}\n${err.stack}`);
        assert.ok(!err.message.includes('\n'), `${c.label}: message is one line: ${err.message}`);
        assert.ok(err.message.includes(dir), `${c.label}: message names the file: ${err.message}`);
        refused++;
      }
      const ms = performance.now() - start;
      if (ms > slowestMs) [slowestMs, slowest] = [ms, c.label];
      assert.ok(ms < MAX_CASE_MS, `${c.label}: took ${ms.toFixed(0)} ms`);
      peak = Math.max(peak, process.memoryUsage().rss - base);
      assert.ok(peak < MAX_PEAK_BYTES, `${c.label}: memory grew by ${(peak / 2 ** 20).toFixed(0)} MiB`);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { cases: n, loaded, refused, slowestMs, slowest, peakExtraBytes: peak, seconds: (performance.now() - t0) / 1000 };
}

/** A one-line summary of a corpus run (printed as a test diagnostic). */
export function describeStats(name: string, s: CorpusStats): string {
  return (
    `${name}: ${s.cases} cases (${s.loaded} loaded, ${s.refused} refused) in ${s.seconds.toFixed(1)} s; ` +
    `slowest ${s.slowestMs.toFixed(0)} ms (${s.slowest}); peak extra RSS ${(s.peakExtraBytes / 2 ** 20).toFixed(0)} MiB`
  );
}
