import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type StateDict, type Tensor, float32, tensor } from '../../src/graph/tensor.ts';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertSameTensors, assertUserError, tempDir } from './helpers.ts';

const dir = tempDir();
const TIMM = join(SHARED, 'micro_gray_p4_28', 'timm.safetensors');

/** A safetensors file made by hand: header JSON + data bytes. */
function handMade(header: object, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('reads the timm fixture written by the reference implementation', () => {
  const { tensors } = readSafetensors(TIMM);
  assert.deepEqual(tensors.get('pos_embed')!.shape, [1, 50, 32]);
  assert.deepEqual(tensors.get('patch_embed.proj.weight')!.shape, [32, 1, 4, 4]);
  assert.equal(tensors.get('head.weight')!.dtype, 'float32');
});

test('round-trips tensors of every dtype and the metadata', () => {
  const sd: StateDict = new Map<string, Tensor>([
    ['a', float32([2, 3], [1, 2, 3, 4, 5, -6])],
    ['b', tensor('int64', [2], BigInt64Array.from([5n, -7n]))],
    ['c', tensor('int32', [1], Int32Array.from([9]))],
    ['d', tensor('uint8', [3], Uint8Array.from([0, 128, 255]))],
    ['e', tensor('bool', [2], Uint8Array.from([1, 0]))],
    ['scalar', float32([], [2.5])],
  ]);
  const path = join(dir, 'rt.safetensors');
  writeSafetensors(path, sd, { note: 'hi' });
  const back = readSafetensors(path);
  assertSameTensors(back.tensors, sd);
  assert.deepEqual(back.metadata, { note: 'hi' });
  assert.equal(Buffer.concat(encodeSafetensors(sd)).readUInt32LE(0) % 8, 0, 'header padded to 8 bytes');
});

test('converts F16, BF16 and F64 to float32', () => {
  const f16 = Buffer.alloc(6);
  [0x3e00, 0xc000, 0x0001].forEach((h, i) => f16.writeUInt16LE(h, i * 2)); // 1.5, -2, smallest subnormal
  const bf16 = Buffer.alloc(4);
  [0x3f00, 0xc040].forEach((h, i) => bf16.writeUInt16LE(h, i * 2)); // 0.5, -3
  const f64 = Buffer.from(Float64Array.from([0.1, -1e300]).buffer);
  const file = handMade(
    {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      d: { dtype: 'F64', shape: [2], data_offsets: [10, 26] },
    },
    Buffer.concat([f16, bf16, f64]),
  );
  const { tensors } = decodeSafetensors(file);
  assert.deepEqual([...tensors.get('h')!.data], [1.5, -2, 2 ** -24]);
  assert.deepEqual([...tensors.get('b')!.data], [0.5, -3]);
  assert.deepEqual([...tensors.get('d')!.data], [Math.fround(0.1), -Infinity]);
  assert.ok([...tensors.values()].every((t) => t.dtype === 'float32'));
});

test('a truncated file names the file and the sizes', () => {
  const bytes = readFileSync(TIMM);
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  assertUserError(() => readSafetensors(cut), /cut\.safetensors is truncated/, /tensor '.*' ends at data byte \d+, file has \d+/, /re-download/);
  const headerCut = join(dir, 'header-cut.safetensors');
  writeFileSync(headerCut, bytes.subarray(0, 40));
  assertUserError(() => readSafetensors(headerCut), /header-cut\.safetensors is truncated \(header says \d+ bytes, file has 32/);
  writeFileSync(headerCut, bytes.subarray(0, 5));
  assertUserError(() => readSafetensors(headerCut), /header-cut\.safetensors is truncated/);
});

test('a header over the format\'s 100 MB limit is refused before it is read', () => {
  const big = join(dir, 'big-header.safetensors');
  writeFileSync(big, Buffer.alloc(8));
  truncateSync(big, 100_000_100); // sparse: no 100 MB written
  const fd = openSync(big, 'r+');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(100_000_001n);
  writeSync(fd, len, 0, 8, 0);
  closeSync(fd);
  assertUserError(() => readSafetensors(big), /big-header\.safetensors.*header of 100000001 bytes is over the format's limit of 100000000/);
});

test('random bytes, bad JSON, bad dtypes and inconsistent offsets are UserErrors naming the file', () => {
  const junk = join(dir, 'junk.safetensors');
  writeFileSync(junk, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff)));
  assertUserError(() => readSafetensors(junk), /junk\.safetensors is truncated \(header says/);
  const badJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]);
  assertUserError(() => decodeSafetensors(badJson, 'bad.safetensors'), /bad\.safetensors is corrupt \(safetensors header is not valid JSON/);
  const fp8 = handMade({ t: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1));
  assertUserError(() => decodeSafetensors(fp8, 'fp8.safetensors'), /fp8\.safetensors: tensor 't' has dtype F8_E4M3/);
  const wrongSize = handMade({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
  assertUserError(() => decodeSafetensors(wrongSize, 'w.safetensors'), /w\.safetensors is corrupt \(tensor 't' \[2\] F32 needs 8 bytes but has 4\)/);
});

test('tensors whose data overlap are refused (one region read over and over)', () => {
  const n = 2 ** 18;
  const header = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t${i}`, { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] }]));
  const rss = process.memoryUsage().rss;
  assertUserError(
    () => decodeSafetensors(handMade(header, new Uint8Array(4 * n)), 'amp.safetensors'),
    /amp\.safetensors is corrupt \(tensors 't\d+' and 't\d+' overlap/,
  );
  assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'no 300 MiB of copies');
  const meta = handMade({ __metadata__: ['not', 'a', 'dict'] }, new Uint8Array());
  assertUserError(() => decodeSafetensors(meta, 'meta.safetensors'), /meta\.safetensors is corrupt \(__metadata__ is not an object/);
});

test('keep reads only the tensors it keeps, and still checks the whole header', () => {
  const sd: StateDict = new Map([['a', float32([2], [1, 2])], ['b', float32([1], [3])], ['c', float32([1], [4])]]);
  const path = join(dir, 'keep.safetensors');
  writeSafetensors(path, sd);
  assert.deepEqual([...readSafetensors(path, (n) => n !== 'b').tensors.keys()], ['a', 'c']);
  const overlapping = join(dir, 'keep-overlap.safetensors');
  const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
  writeFileSync(overlapping, handMade(header, new Uint8Array(8)));
  assertUserError(() => readSafetensors(overlapping, (n) => n === 'a'), /overlap/);
});
