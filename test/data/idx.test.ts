import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodeIdx, encodeIdx, loadIdxDir } from '../../src/data/idx.ts';
import { tempDir } from './helpers.ts';

/** Writes train-* and t10k-* IDX files with n images of h×w whose pixels encode (image, position). */
function writeIdxDir(dir: string, sizes: { train: number; t10k: number }, gz: boolean, h = 5, w = 4): void {
  for (const [prefix, n] of Object.entries(sizes)) {
    const images = Uint8Array.from({ length: n * h * w }, (_, i) => (i * 7 + n) % 256);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
    const write = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
    write(`${prefix}-images-idx3-ubyte`, encodeIdx(images, [n, h, w]));
    write(`${prefix}-labels-idx1-ubyte`, encodeIdx(labels, [n]));
  }
}

test('encode → gzip → decode round trip', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 9);
  const raw = encodeIdx(data, [2, 3, 4]);
  assert.deepEqual([...raw.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 2]);
  for (const bytes of [raw, gzipSync(raw)]) {
    const back = decodeIdx(bytes, 'x');
    assert.deepEqual(back.dims, [2, 3, 4]);
    assert.deepEqual(back.data, data);
  }
});

test('bad magic, unsupported type, wrong size and broken gzip are UserErrors naming the file', () => {
  const ok = encodeIdx(new Uint8Array(6), [2, 3]);
  assert.throws(() => decodeIdx(Uint8Array.from([1, 2, 3, 4, 5]), 'a.idx'), /a\.idx: not an IDX file \(bad magic number\)/);
  const float = ok.slice();
  float[2] = 0x0d;
  assert.throws(() => decodeIdx(float, 'f.idx'), /f\.idx: IDX data type 0x0d is not supported/);
  assert.throws(() => decodeIdx(ok.subarray(0, ok.length - 1), 't.idx'), /t\.idx: header says \[2, 3\] = 6 bytes but the file has 5/);
  assert.throws(() => decodeIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'g.gz'), /g\.gz: corrupt gzip data/);
});

test('an IDX directory loads as its train/t10k splits, gzipped or not', () => {
  for (const gz of [true, false]) {
    const dir = tempDir('idx');
    writeIdxDir(dir, { train: 30, t10k: 12 }, gz);
    const ds = loadIdxDir(dir);
    assert.deepEqual([ds.train.n, ds.test.n, ds.train.height, ds.train.width, ds.train.channels], [30, 12, 5, 4, 1]);
    assert.deepEqual(ds.train.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual([...ds.test.labels.subarray(0, 3)], [0, 1, 2]);
    assert.equal(ds.train.images[1], (7 + 30) % 256);
  }
});

test('mismatched counts and missing files are UserErrors', () => {
  const dir = tempDir('idx-bad');
  writeIdxDir(dir, { train: 3, t10k: 2 }, false);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx(new Uint8Array(5), [5]));
  assert.throws(() => loadIdxDir(dir), /t10k-labels-idx1-ubyte: 5 labels for 2 images/);
  const empty = tempDir('idx-empty');
  assert.throws(() => loadIdxDir(empty), /missing train-images-idx3-ubyte/);
  writeIdxDir(empty, { train: 3, t10k: 2 }, false);
  assert.throws(() => loadIdxDir(empty, ['a', 'b']), /label 2 at 2 is outside the 2 classes/);
});
