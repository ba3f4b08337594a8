import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type StateDict, type Tensor, float32, tensor } from '../../src/graph/tensor.ts';
import { decodeNpy, decodeNpz, encodeNpy, readNpz, writeNpz } from '../../src/weights/npz.ts';
import { LOCAL, SHARED, assertSameTensors, assertUserError, tempDir } from './helpers.ts';
import { buildZip } from './zip-builder.ts';

const dir = tempDir();

test('reads the Google-layout fixture, Fortran-ordered kernels included', () => {
  const sd = readNpz(join(SHARED, 'micro_gray_p4_28', 'google.npz'));
  assert.deepEqual(sd.get('embedding/kernel')!.shape, [4, 4, 1, 32]);
  assert.deepEqual(sd.get('Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel')!.shape, [32, 4, 8]);
  assert.deepEqual(sd.get('head/kernel')!.shape, [32, 10]); // stored fortran_order: True
});

test('reads every supported dtype from a deflate-compressed npz', () => {
  const sd = readNpz(join(LOCAL, 'compressed.npz'));
  assert.deepEqual([...sd.get('f4')!.data], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...sd.get('f8')!.data], [Math.fround(0.1), -2]);
  assert.deepEqual([...sd.get('f2')!.data], [1.5, -0.25]);
  assert.deepEqual([...sd.get('i8')!.data], [-5n, 9n]);
  assert.deepEqual(sd.get('i4')!.shape, [2, 1]);
  assert.deepEqual([...sd.get('u1')!.data], [0, 255]);
  assert.equal(sd.get('b1')!.dtype, 'bool');
  assert.deepEqual([...sd.get('b1')!.data], [1, 0, 1]);
  assert.deepEqual([...sd.get('fortran')!.data], [0, 1, 2, 3, 4, 5], 'Fortran order reordered to C order');
  assert.deepEqual(sd.get('scalar')!.shape, []);
  assert.deepEqual([...sd.get('scalar')!.data], [2.5]);
});

test('round-trips through write and read', () => {
  const sd: StateDict = new Map<string, Tensor>([
    ['a/b', float32([2, 3], [1, 2, 3, 4, 5, 6])],
    ['v', float32([3], [7, 8, 9])],
    ['i', tensor('int64', [1], BigInt64Array.from([3n]))],
  ]);
  const path = join(dir, 'rt.npz');
  writeNpz(path, sd);
  assertSameTensors(readNpz(path), sd);
  assert.equal((Buffer.concat(encodeNpy(sd.get('v')!)).readUInt16LE(8) + 10) % 64, 0, 'data 64-byte aligned');
});

test('reads .npy format versions 2 and 3 (4-byte header length)', () => {
  const v1 = Buffer.concat(encodeNpy(float32([2], [1, 2])));
  const start = 10 + v1.readUInt16LE(8);
  const header = v1.subarray(10, start);
  for (const major of [2, 3]) {
    const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), major, 0, 0, 0, 0, 0]);
    pre.writeUInt32LE(header.length, 8);
    const t = decodeNpy(Buffer.concat([pre, header, v1.subarray(start)]), `v${major}.npy`);
    assert.deepEqual([...t.data], [1, 2]);
  }
});

test('unsupported or damaged arrays are UserErrors naming the array', () => {
  const npy = Buffer.from(Buffer.concat(encodeNpy(float32([2], [1, 2]))));
  const big = Buffer.from(npy.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1');
  assertUserError(() => decodeNpy(big, 'g.npz:w'), /g\.npz:w has dtype '>f4'/, /astype/);
  assertUserError(() => decodeNpy(npy.subarray(0, npy.length - 1), 'g.npz:w'), /g\.npz:w is truncated \(needs 8 data bytes, has 7\)/);
  assertUserError(() => decodeNpy(Buffer.from('not numpy at all'), 'g.npz:w'), /g\.npz:w is not a \.npy array/);
  const npz = readFileSync(join(LOCAL, 'compressed.npz'));
  assertUserError(() => decodeNpz(npz.subarray(0, 500), 'short.npz'), /short\.npz is corrupt/);
});

/** A version-1 .npy with the given header dict text and data bytes. */
function npyWith(header: string, data: Uint8Array = new Uint8Array(64)): Buffer {
  const h = Buffer.from(`${header}\n`, 'latin1');
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, 0, 0]);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, h, data]);
}

test('.npy shapes must be tuples of non-negative integers', () => {
  for (const shape of ['(-2, -3)', '(1.5, 2)', '(abc,)', '(2 3)', '(1e3,)', '(99999999999999999999,)']) {
    assertUserError(
      () => decodeNpy(npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`), 'g.npz:w'),
      /g\.npz:w has an invalid \.npy shape/,
    );
  }
  assert.deepEqual(decodeNpy(npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0, 3), }"), 'z').shape, [2, 0, 3]);
});

test('.npy object arrays (pickled Python objects) and oversized headers are refused', () => {
  assertUserError(
    () => decodeNpy(npyWith("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"), 'g.npz:o'),
    /g\.npz:o holds Python objects/,
    /allow_pickle/,
  );
  const long = `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ${' '.repeat(20_000)}}`;
  assertUserError(() => decodeNpy(npyWith(long), 'g.npz:h'), /g\.npz:h has a \.npy header of \d+ bytes/);
});

test('a member longer than its .npy header says is refused before it is inflated', () => {
  const npy = Buffer.concat([...encodeNpy(float32([2], [1, 2])), new Uint8Array(4096)]);
  const zip = buildZip([{ name: 'w.npy', data: npy, deflate: true }]);
  assertUserError(() => decodeNpz(zip, 'long.npz'), /long\.npz:w holds 4232 bytes but its \.npy header \(shape \(2\), F32\) needs 136/);
});
