import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bufferSource } from '../../src/weights/byte-source.ts';
import { parsePth, readPth } from '../../src/weights/pth.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { encodeZip } from '../../src/weights/zip.ts';
import { LOCAL, SHARED, assertSameTensors, assertUserError, tempDir } from './helpers.ts';

const dir = tempDir();
const zipOf = (files: Record<string, Uint8Array>) =>
  Buffer.concat(encodeZip(Object.entries(files).map(([name, data]) => ({ name, chunks: [data] }))));

test('a torch.save state dict equals the timm safetensors it was made from', () => {
  const pth = readPth(join(LOCAL, 'micro_gray_p4_28.pth'));
  assertSameTensors(pth, readSafetensors(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors')).tensors);
});

test('unwraps training checkpoints and decodes dtypes, storage offsets and parameters', () => {
  const sd = readPth(join(LOCAL, 'wrapped.pth'));
  assert.deepEqual([...sd.keys()], ['half', 'bf16', 'f64', 'i64', 'rows', 'base', 'param']);
  assert.deepEqual([...sd.get('half')!.data], [1.5, -2, 65504]);
  assert.deepEqual([...sd.get('bf16')!.data], [0.5, -3]);
  assert.deepEqual(sd.get('f64')!.shape, [1, 2]);
  assert.equal(sd.get('f64')!.dtype, 'float32');
  assert.deepEqual([...sd.get('i64')!.data], [7n, -1n]);
  assert.deepEqual(sd.get('rows')!.shape, [2, 4]);
  assert.deepEqual([...sd.get('rows')!.data], [4, 5, 6, 7, 8, 9, 10, 11], 'view at storage offset 4');
  assert.deepEqual([...sd.get('param')!.data], [3, 4]);
});

test('non-contiguous tensors are refused with a fix', () => {
  assertUserError(() => readPth(join(LOCAL, 'noncontig.pth')), /noncontig\.pth holds a non-contiguous tensor \[3, 2\] \(strides \[1, 3\]\)/, /contiguous\(\)/);
});

test('anything but a dict of tensors is refused without running code', () => {
  // {'w': Evil()} whose __reduce__ is os.system: unpickled to an inert placeholder, then rejected
  const evil = Buffer.from('80027d7100580100000077710163706f7369780a73797374656d0a710258170000006563686f2070776e6564203e202f746d702f70776e65647103857104527105732e', 'hex');
  const src = bufferSource(zipOf({ 'archive/data.pkl': evil }), 'evil.pth');
  assertUserError(() => parsePth(src), /evil\.pth is not a plain state dict \(entry 'w' is not a tensor/, /safetensors\.torch/);
});

test('legacy, TorchScript, truncated and random files are UserErrors with a conversion hint', () => {
  const legacy = join(dir, 'legacy.pth');
  writeFileSync(legacy, Buffer.from('80028a0a6cfc9c46f9206aa850192e', 'hex')); // pickled legacy magic number
  assertUserError(() => readPth(legacy), /legacy\.pth is not a zip-format torch\.save file/, /s\.save_file\(torch\.load\('.*legacy\.pth'\)/);
  const script = bufferSource(zipOf({ 'm/constants.pkl': new Uint8Array([0x80]), 'm/code/x.py': new Uint8Array() }), 'script.pt');
  assertUserError(() => parsePth(script), /script\.pt is a TorchScript archive/);
  const full = readFileSync(join(LOCAL, 'micro_gray_p4_28.pth'));
  assertUserError(() => parsePth(bufferSource(full.subarray(0, full.length - 200), 'cut.pth')), /cut\.pth is corrupt/);
  const bad = Buffer.from(full);
  bad.fill(0x2e, 100, 110); // inside data.pkl: STOP opcodes early
  assertUserError(() => parsePth(bufferSource(bad, 'bad.pth')), /bad\.pth is corrupt \(zip member .*data\.pkl fails its size\/CRC check/);
});
