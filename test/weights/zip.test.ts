import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource } from '../../src/weights/byte-source.ts';
import { crc32, encodeZip, readZip } from '../../src/weights/zip.ts';
import { LOCAL, assertUserError } from './helpers.ts';

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
