import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StateDict } from '../../src/graph/tensor.ts';
import { defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { bufferSource } from '../../src/weights/byte-source.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { parsePth, readPth } from '../../src/weights/pth.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { encodeZip } from '../../src/weights/zip.ts';
import { LOCAL, SHARED, assertSameTensors, assertUserError, tempDir } from './helpers.ts';
import { type Py, pickle, pthBytes, torchTensor } from './pickle-writer.ts';

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
  assertUserError(
    () => readPth(join(LOCAL, 'noncontig.pth')),
    /noncontig\.pth holds a non-contiguous tensor \[3, 2\] \(strides \[1, 3\]\)/,
    /contiguous\(\)/,
  );
});

test('anything but a dict of tensors is refused without running code', () => {
  // {'w': Evil()} whose __reduce__ is os.system: unpickled to an inert placeholder, then rejected
  const evil = Buffer.from(
    '80027d7100580100000077710163706f7369780a73797374656d0a710258170000006563686f2070776e6564203e202f746d702f70776e65647103857104527105732e',
    'hex',
  );
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

const f32 = (n: number) => Buffer.from(Float32Array.from({ length: n }, (_, i) => i).buffer);
const pth = (root: Py, storages: Record<string, Uint8Array>, name = 'x.pth') => bufferSource(pthBytes(pickle(root), storages), name);

test('a dict that contains itself under model/state_dict is refused, not followed forever', () => {
  // PROTO 2, EMPTY_DICT, BINPUT 0, 'model', BINGET 0, SETITEM, STOP: {'model': <itself>} in 19 bytes
  const selfRef = Buffer.from('80027d710058050000006d6f64656c680073 2e'.replace(/ /g, ''), 'hex');
  assert.equal(selfRef.length, 19);
  assertUserError(() => parsePth(bufferSource(pthBytes(selfRef), 'loop.pth')), /loop\.pth/, /refers to itself/);
  // and a cycle two levels deep: {'state_dict': {'model': <the outer dict>}}
  const twoLevels = Buffer.from('80027d7100580a00000073746174655f6469637471017d710258050000006d6f64656c7103680073732e', 'hex');
  assertUserError(() => parsePth(bufferSource(pthBytes(twoLevels), 'loop2.pth')), /loop2\.pth/, /refers to itself/);
});

test('tensors are views of one decoded storage, and reusing a storage beyond the file is refused', () => {
  const one = pth({ dict: [['a', torchTensor('0', 0, [4], [1])], ['b', torchTensor('0', 2, [2], [1])]] }, { '0': f32(6) });
  const sd = parsePth(one);
  assert.deepEqual([...sd.get('b')!.data], [2, 3]);
  assert.equal(sd.get('a')!.data.buffer, sd.get('b')!.data.buffer, 'one storage, two views');
  // 300 tensors of 1 MiB each over a single 1 MiB storage
  const n = 2 ** 18;
  const entries: [Py, Py][] = Array.from({ length: 300 }, (_, i) => [`t${i}`, torchTensor('0', 0, [n], [1])]);
  const rss = process.memoryUsage().rss;
  assertUserError(() => parsePth(pth({ dict: entries }, { '0': f32(n) }, 'amp.pth')), /amp\.pth/, /storage '0'/, /more than/);
  assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'no 300 MiB of copies');
});

test('offsets, sizes and strides are type-, sign- and range-checked', () => {
  const bad: [string, Py, Py, Py][] = [
    ['negative offset', -1, [2], [1]],
    ['fractional offset', 0.5, [2], [1]],
    ['string offset', '0', [2], [1]],
    ['negative size', 0, [-2, -3], [1, 1]],
    ['fractional size', 0, [1.5, 2], [2, 1]],
    ['size not a tuple', 0, 2, [1]],
    ['strides of another rank', 0, [2, 3], [1]],
    ['past the storage', 4, [4], [1]],
    ['huge size', 0, [2 ** 40, 2 ** 40], [2 ** 40, 1]],
  ];
  for (const [what, offset, size, stride] of bad) {
    assertUserError(() => parsePth(pth({ dict: [['w', torchTensor('0', offset, size, stride)]] }, { '0': f32(6) }, 'bad.pth')), /bad\.pth/);
    void what;
  }
  // a storage that is not a whole number of elements, and a tensor whose storage is not a storage reference
  assertUserError(
    () => parsePth(pth({ dict: [['w', torchTensor('0', 0, [1], [1])]] }, { '0': new Uint8Array(6) }, 'odd.pth')),
    /odd\.pth/,
    /6 bytes/,
  );
  const fake: Py = { call: [{ global: 'torch._utils._rebuild_tensor_v2' }, ['not a storage', 0, [1], [1], false, null]] };
  assertUserError(() => parsePth(pth({ dict: [['w', fake]] }, {}, 'fake.pth')), /fake\.pth/);
  // keys must be strings
  assertUserError(() => parsePth(pth({ dict: [[5, torchTensor('0', 0, [1], [1])]] }, { '0': f32(1) }, 'key.pth')), /key\.pth/, /name/);
});

test("timm train.py's .pth.tar: the EMA (state_dict_ema) wins over state_dict, found by content, not by extension", () => {
  const config = { ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 8, depth: 1, numHeads: 2, mlpDim: 16, numClasses: 3 };
  const raw = initParameters(config, { seed: 1 });
  const ema = new Map([...raw].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v + 1) }]));
  const storages: Record<string, Uint8Array> = {};
  const dictOf = (sd: StateDict, tag: string): Py => ({
    dict: [...sd].map(([k, t]): [Py, Py] => {
      storages[`${tag}${k}`] = new Uint8Array((t.data as Float32Array).slice().buffer);
      const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      return [k, torchTensor(`${tag}${k}`, 0, [...t.shape], strides)];
    }),
  });
  const checkpoint = (withEma: boolean): Py => ({
    dict: [['epoch', 3], ['arch', 'vit_tiny_patch16_224'], ['state_dict', dictOf(raw, 'raw.')],
      ...(withEma ? [['state_dict_ema', dictOf(ema, 'ema.')] as [Py, Py]] : []), ['version', 2]],
  });
  for (const withEma of [true, false]) {
    const path = join(dir, `model_best-${withEma}.pth.tar`);
    writeFileSync(path, pthBytes(pickle(checkpoint(withEma)), storages));
    const loaded = loadCheckpoint(path, { numHeads: 2 });
    assert.equal(loaded.format, 'pth');
    assertSameTensors(loaded.weights, withEma ? ema : raw);
  }
});
