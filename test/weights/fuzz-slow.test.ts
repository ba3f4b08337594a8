// The rare, slow hostile checkpoints, apart from the main corpus (fuzz.test.ts) but run with it: inputs large
// enough to expose quadratic decoding, stack-deep recursion or unbounded inflation, each still under 2 s.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { type FuzzCase, describeStats, fileCase, runCorpus } from '../fuzz-corpus.ts';
import { type Py, pickle, pthBytes, torchTensor } from './pickle-writer.ts';
import { buildZip } from './zip-builder.ts';

const MiB = 2 ** 20;

/**
 * A .npz member whose .npy header says 2 floats, followed by `gib` GiB of zeros, its declared size and CRC honest:
 * deflate streams of 16 MiB of zeros concatenated (each sync-flushed, so not final), then a final empty block.
 */
function honestBomb(gib: number): Buffer {
  const dict = Buffer.from(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n`, 'latin1');
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, 0, 0]);
  pre.writeUInt16LE(dict.length, 8);
  const head = Buffer.concat([pre, dict, new Uint8Array(8)]);
  const zeros = new Uint8Array(16 * MiB);
  const flush = { finishFlush: constants.Z_SYNC_FLUSH };
  const chunks = gib * 64;
  let crc = crc32(head);
  for (let i = 0; i < chunks; i++) crc = crc32(zeros, crc);
  const deflated = Buffer.concat([
    deflateRawSync(head, flush),
    ...Array<Buffer>(chunks).fill(deflateRawSync(zeros, flush)),
    deflateRawSync(new Uint8Array(0)),
  ]);
  return buildZip([{ name: 'w.npy', data: head, deflated, size: head.length + chunks * zeros.length, crc }]);
}
const op = (...bytes: number[]) => Buffer.from(bytes);

function slowCases(): FuzzCase[] {
  const long4 = Buffer.concat([
    op(0x80, 0x02, 0x7d, 0x8b),
    Buffer.from(new Uint32Array([2 * MiB]).buffer),
    Buffer.alloc(2 * MiB, 0x5a),
    op(0x4e, 0x73, 0x2e),
  ]);
  const appends = Buffer.concat([op(0x80, 0x02, 0x5d, 0x28), Buffer.alloc(MiB / 4, 0x4e), op(0x65, 0x2e)]);
  const deep = Buffer.concat([op(0x80, 0x02), Buffer.alloc(100_000, 0x5d), Buffer.alloc(100_000 - 1, 0x61), op(0x2e)]);
  const memo = Buffer.concat([
    op(0x80, 0x02, 0x5d, 0x71, 0x00),
    Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i % 3 === 0 ? 0x68 : i % 3 === 1 ? 0x00 : 0x61))),
    op(0x2e),
  ]);
  const storage = Buffer.from(new Float32Array(MiB / 4).buffer);
  const reuse: Py = { dict: Array.from({ length: 3000 }, (_, i) => [`t${i}`, torchTensor('0', 0, [MiB / 4], [1])] as [Py, Py]) };
  // {'model': {'model': … {}}}: EMPTY_DICT, then ('model', EMPTY_DICT) pushed 30k times, then 30k SETITEMs
  const level = Buffer.concat([op(0x58), Buffer.from(new Uint32Array([5]).buffer), Buffer.from('model'), op(0x7d)]);
  const nestedModels = Buffer.concat([op(0x80, 0x02, 0x7d), Buffer.concat(Array(30_000).fill(level)), Buffer.alloc(30_000, 0x73), op(0x2e)]);
  const zeros = new Uint8Array(64 * MiB);
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, __metadata__: { pad: 'x'.repeat(8 * MiB) } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return [
    fileCase('2 MiB LONG4 key', 'x.pth', pthBytes(long4)),
    fileCase('256k-item APPENDS', 'x.pth', pthBytes(appends)),
    fileCase('100k-deep nested lists', 'x.pth', pthBytes(deep)),
    fileCase('100k memo gets of one list into itself', 'x.pth', pthBytes(memo)),
    fileCase('3000 tensors over one 1 MiB storage', 'x.pth', pthBytes(pickle(reuse), { '0': storage })),
    fileCase('30k nested model dicts', 'x.pth', pthBytes(nestedModels)),
    fileCase('64 MiB zip bomb declared small', 'x.npz', buildZip([{ name: 'w.npy', data: zeros, deflate: true, size: 128 }])),
    fileCase('16 MiB of zeros declared honestly', 'x.npz', buildZip([{ name: 'w.npy', data: zeros.subarray(0, 16 * MiB), deflate: true }])),
    fileCase('1 GiB member declared honestly behind a 2-float .npy header', 'x.npz', honestBomb(1)),
    fileCase('8 MiB safetensors header', 'x.safetensors', Buffer.concat([len, header, new Uint8Array(4)])),
  ];
}

test('rare slow hostile checkpoints: still linear, bounded and refused in one line', async (t) => {
  const stats = await runCorpus(slowCases(), (path) => loadCheckpoint(path));
  t.diagnostic(describeStats('slow', stats));
  assert.equal(stats.loaded, 0);
});
