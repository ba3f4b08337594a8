import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource } from '../../src/weights/byte-source.ts';
import { crc32, encodeZip, readZip } from '../../src/weights/zip.ts';
import { LOCAL, assertUserError } from './helpers.ts';
import { buildZip } from './zip-builder.ts';

test('crc32 matches the standard check value, also when continued over chunks', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
});

test('writes stored archives that read back', () => {
  const zip = Buffer.concat(encodeZip([
    { name: 'a.txt', chunks: [Buffer.from('hello '), Buffer.from('world')] },
    { name: 'dir/b.bin', chunks: [new Uint8Array([1, 2, 3])] },
  ]));
  const entries = readZip(bufferSource(zip, 'x.zip'));
  assert.deepEqual(entries.map((e) => [e.name, e.size]), [['a.txt', 11], ['dir/b.bin', 3]]);
  assert.equal(Buffer.from(entries[0]!.read()).toString(), 'hello world');
});

test('reads PyTorch archives (zip64 end records, padded local headers)', () => {
  const entries = readZip(bufferSource(readFileSync(join(LOCAL, 'wrapped.pth')), 'wrapped.pth'));
  assert.ok(entries.some((e) => e.name === 'wrapped/data.pkl'));
  assert.equal(Buffer.from(entries.find((e) => e.name === 'wrapped/byteorder')!.read()).toString(), 'little');
});

test('damaged archives are UserErrors naming the file', () => {
  const zip = Buffer.concat(encodeZip([{ name: 'a.txt', chunks: [Buffer.from('hello')] }]));
  assertUserError(() => readZip(bufferSource(zip.subarray(0, zip.length - 10), 'cut.zip')), /cut\.zip is corrupt \(no zip end-of-central-directory/);
  const flipped = Buffer.from(zip);
  flipped[36] ^= 0xff; // a data byte of a.txt (30-byte header + 5-byte name)
  const [e] = readZip(bufferSource(flipped, 'flip.zip'));
  assertUserError(() => e!.read(), /flip\.zip is corrupt \(zip member a\.txt fails its size\/CRC check/);
});

test('a member that inflates past its declared size stops there (zip bomb)', () => {
  const zeros = new Uint8Array(64 * 2 ** 20);
  const zip = buildZip([{ name: 'w.npy', data: zeros, deflate: true, size: 1000 }]);
  assert.ok(zip.length < 100_000);
  const [e] = readZip(bufferSource(zip, 'bomb.npz'));
  const rss = process.memoryUsage().rss;
  assertUserError(() => e!.read(), /bomb\.npz is corrupt \(zip member w\.npy inflates to more than its declared 1000 bytes/);
  assert.ok(process.memoryUsage().rss - rss < 32 * 2 ** 20, 'did not inflate 64 MiB');
});

test('declared sizes deflate cannot produce, stored sizes that differ, and overlapping members are refused up front', () => {
  const data = new Uint8Array(100);
  assertUserError(
    () => readZip(bufferSource(buildZip([{ name: 'a', data, deflate: true, size: 2 ** 31 }]), 'big.zip')),
    /big\.zip is corrupt \(zip member a declares 2147483648 bytes from \d+ compressed/,
  );
  assertUserError(
    () => readZip(bufferSource(buildZip([{ name: 'a', data, size: 5000 }]), 'stored.zip')),
    /stored\.zip is corrupt \(zip member a is stored with 100 bytes but declares 5000/,
  );
  // a second central entry pointing at the first member's data: N entries would inflate the same bytes N times
  const overlap = buildZip([{ name: 'a', data, deflate: true }, { name: 'b', data, sameAs: 0 }]);
  assertUserError(() => readZip(bufferSource(overlap, 'overlap.zip')), /overlap\.zip is corrupt \(zip members a and b overlap/);
});

test('a zip64 extra field shorter than the values it must hold is corrupt, not read past', () => {
  const extra = Buffer.from([0x01, 0x00, 0x00, 0x00, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55]); // id 1, length 0, then junk
  const zip = buildZip([{ name: 'a', data: new Uint8Array(8), extra, fields32: { usize: 0xffffffff } }]);
  assertUserError(() => readZip(bufferSource(zip, 'z64.zip')), /z64\.zip is corrupt \(zip member a has a zip64 extra field too short/);
});

test('readHead gives a member\'s first bytes, stored or deflated, inflating only a bounded prefix', () => {
  const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)); // hardly compressible
  const zip = buildZip([{ name: 'stored', data }, { name: 'deflated', data, deflate: true }]);
  for (const e of readZip(bufferSource(zip, 'x.zip'))) {
    assert.deepEqual(Buffer.from(e.readHead(10_012)), data.subarray(0, 10_012), e.name);
    assert.equal(e.readHead(1e9).length, data.length, `${e.name}: no more than the member holds`);
  }
  const bomb = readZip(bufferSource(buildZip([{ name: 'zeros', data: new Uint8Array(64 * 2 ** 20), deflate: true }]), 'bomb.zip'))[0]!;
  assert.equal(bomb.readHead(100).length, 100);
});
