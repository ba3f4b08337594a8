// vitkit quantize and --int8 from the command line: an int8 checkpoint that info describes and predict,
// export-onnx and bench run; one-line errors for what cannot be done.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-quantize-'));
const hf = `${FIXTURES}micro_p16_224/hf`;
const image = `${FIXTURES}micro_p16_224/img_1.png`;
const int8 = join(tmp, 'micro-int8.safetensors');

function ok(args: string[]): string {
  const r = vitkit(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('quantize writes an int8 checkpoint that info, predict and export-onnx use', () => {
  const q = JSON.parse(ok(['quantize', hf, int8, '--json']));
  assert.equal(q.output, int8);
  assert.ok(q.ratio > 1.5, `ratio ${q.ratio}`); // the micro model's float embeddings weigh as much as its linear layers
  assert.equal(loadCheckpoint(int8).weights.get('blocks.0.attn.qkv.weight')!.dtype, 'int8');
  const info = JSON.parse(ok(['info', int8, '--json']));
  assert.equal(info.precision, 'int8');
  assert.equal(info.config.numHeads, 2, 'the config travels with the int8 checkpoint');
  assert.match(ok(['info', int8]), /precision\s+int8 linear layers/);

  const top = (args: string[]) => JSON.parse(ok(['predict', image, '--json', '--logits', ...args]));
  const fp32 = top(['--checkpoint', hf]);
  const fromFile = top(['--checkpoint', int8]);
  const onLoad = top(['--checkpoint', hf, '--int8']);
  assert.deepEqual(fromFile.logits, onLoad.logits, 'quantize then run = --int8 on load');
  assert.equal(fromFile.top[0].index, fp32.top[0].index);
  assert.notDeepEqual(fromFile.logits, fp32.logits);

  const onnx = join(tmp, 'int8.onnx');
  ok(['export-onnx', hf, onnx, '--int8']);
  assert.match(
    ok(['bench', '--arch', 'vit_tiny_patch16_224', '--img-size', '32', '--batch', '2', '--seconds', '0', '--int8', '--json']),
    /"precision":"int8"/,
  );
});

test('quantize refuses an int8 input and an existing output, in one line', () => {
  for (const [args, pattern] of [
    [['quantize', int8, join(tmp, 'again.safetensors')], /already int8/],
    [['quantize', hf, int8], /exists/],
  ] as const) {
    const r = vitkit([...args]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});
