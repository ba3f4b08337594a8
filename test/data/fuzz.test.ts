// Hostile dataset files and images (see ../fuzz-corpus.ts): MNIST-style IDX folders (plain and gzip), CIFAR-10
// binary batches and PNG/JPEG images through the decoder, truncated, bit-flipped and with size fields set to
// 0/−1/2^31. Each case loads or is refused with a one-line UserError naming the file, fast and bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { loadCifarBinary } from '../../src/data/cifar-binary.ts';
import { decodeImage } from '../../src/data/decode.ts';
import { encodeIdx, loadIdxDir } from '../../src/data/idx.ts';
import { Rng } from '../../src/rng.ts';
import { type FuzzCase, bitFlips, describeStats, fieldCases, fileCase, runCorpus, truncations } from '../fuzz-corpus.ts';
import { FIXTURES } from './helpers.ts';

const rng = new Rng(15);
const noise = (n: number) => Uint8Array.from({ length: n }, () => rng.int(256));

/** An IDX folder whose train images file is `images` (the other three files intact). */
function idxFolder(label: string, images: Uint8Array, name = 'train-images-idx3-ubyte', labels?: Uint8Array): FuzzCase {
  return {
    label: `idx ${label}`,
    files: {
      [`idx/${name}`]: images,
      'idx/train-labels-idx1-ubyte': labels ?? encodeIdx(Uint8Array.from({ length: 20 }, (_, i) => i % 10), [20]),
      'idx/t10k-images-idx3-ubyte': encodeIdx(noise(5 * 64), [5, 8, 8]),
      'idx/t10k-labels-idx1-ubyte': encodeIdx(Uint8Array.from({ length: 5 }, (_, i) => i), [5]),
    },
    target: 'idx',
  };
}

function idxCases(): FuzzCase[] {
  const images = encodeIdx(noise(20 * 64), [20, 8, 8]);
  const gz = gzipSync(images);
  const dims = [3, 4, 8, 12].flatMap((off) => fieldCases(`field@${off}`, 'f', images, off, 4, true));
  const bomb = gzipSync(Buffer.concat([encodeIdx(new Uint8Array(0), [0, 8, 8]), new Uint8Array(8 * 2 ** 20)]));
  const labels = encodeIdx(Uint8Array.from({ length: 20 }, (_, i) => i % 10), [20]);
  return [
    ...truncations(images, 150, rng).map((b) => idxFolder(`cut ${b.length}`, b)),
    ...bitFlips(images, 150, rng, 0, 16).map((b, i) => idxFolder(`header flip ${i}`, b)),
    ...dims.map((c) => idxFolder(c.label, c.files.f as Uint8Array)),
    ...truncations(gz, 100, rng).map((b) => idxFolder(`gz cut ${b.length}`, b, 'train-images-idx3-ubyte.gz')),
    ...bitFlips(gz, 100, rng).map((b, i) => idxFolder(`gz flip ${i}`, b, 'train-images-idx3-ubyte.gz')),
    idxFolder('gzip bomb', bomb, 'train-images-idx3-ubyte.gz'),
    ...truncations(labels, 40, rng).map((b) => idxFolder(`labels cut ${b.length}`, images, undefined, b)),
    ...bitFlips(labels, 60, rng).map((b, i) => idxFolder(`labels flip ${i}`, images, undefined, b)),
  ];
}

function cifarCases(): FuzzCase[] {
  const record = 3073;
  const batch = (n: number) => Uint8Array.from({ length: n * record }, (_, i) => (i % record === 0 ? (i / record) % 10 : rng.int(256)));
  const train = batch(3);
  const folder = (label: string, files: Record<string, Uint8Array | string>): FuzzCase => ({
    label: `cifar ${label}`,
    files: { 'c/data_batch_1.bin': train, 'c/test_batch.bin': batch(2), ...files },
    target: 'c',
  });
  const names = (n: number) => Array.from({ length: n }, (_, i) => `class ${i}`).join('\n');
  return [
    ...truncations(train, 120, rng).map((b) => folder(`cut ${b.length}`, { 'c/data_batch_1.bin': b })),
    ...bitFlips(train, 120, rng).map((b, i) => folder(`flip ${i}`, { 'c/data_batch_1.bin': b })),
    ...[0, 255, 10, 11].map((l) => folder(`label ${l}`, { 'c/data_batch_1.bin': Buffer.concat([Buffer.from([l]), train.subarray(1)]) })),
    ...[0, 1, 10, 256, 257, 100_000].map((n) => folder(`${n} class names`, { 'c/batches.meta.txt': names(n) })),
    folder('meta with control characters', { 'c/batches.meta.txt': 'a\u0000b\r\nc\u001b[31m\n' }),
    folder('no test batch', { 'c/test_batch.bin': new Uint8Array() }),
  ];
}

async function imageCases(): Promise<FuzzCase[]> {
  const png = readFileSync(join(FIXTURES, 'micro_gray_p4_28', 'img_0.png'));
  const jpeg = await sharp(Buffer.from(noise(32 * 32 * 3)), { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer();
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  return [
    ...truncations(png, 200, rng).map((b) => fileCase(`png cut ${b.length}`, 'x.png', b)),
    ...bitFlips(png, 200, rng).map((b, i) => fileCase(`png flip ${i}`, 'x.png', b)),
    ...[16, 20].flatMap((off) => fieldCases(`png IHDR@${off}`, 'x.png', png, off, 4, true)),
    ...truncations(jpeg, 200, rng).map((b) => fileCase(`jpeg cut ${b.length}`, 'x.jpg', b)),
    ...bitFlips(jpeg, 200, rng).map((b, i) => fileCase(`jpeg flip ${i}`, 'x.jpg', b)),
    ...[sof + 5, sof + 7].flatMap((off) => fieldCases(`jpeg SOF@${off}`, 'x.jpg', jpeg, off, 2, true)),
  ];
}

test('hostile IDX folders: a valid load or a one-line UserError, fast and bounded', async (t) => {
  const stats = await runCorpus(idxCases(), (path) => loadIdxDir(path));
  t.diagnostic(describeStats('IDX', stats));
  assert.ok(stats.refused > 0 && stats.loaded > 0);
});

test('hostile CIFAR-10 binary folders: a valid load or a one-line UserError, fast and bounded', async (t) => {
  const stats = await runCorpus(cifarCases(), (path) => loadCifarBinary(path));
  t.diagnostic(describeStats('CIFAR', stats));
  assert.ok(stats.refused > 0 && stats.loaded > 0);
});

test('hostile PNG and JPEG files through the decoder: decoded or a one-line UserError, fast and bounded', async (t) => {
  const stats = await runCorpus(await imageCases(), (path) => decodeImage(path));
  t.diagnostic(describeStats('images', stats));
  assert.ok(stats.refused > 0 && stats.loaded > 0);
});
