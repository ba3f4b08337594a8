// The ViT families through the CLI as a user runs it: info names the family, export-onnx (float32 and --int8)
// writes a graph that onnxruntime runs to transformers' output, convert writes the formats that hold them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Session } from '../../src/runtime/session.ts';
import { FAMILIES, familyExpected, relErr } from '../model/family-fixtures.ts';
import { vitkit } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-families-'));

function ok(args: string[]): string {
  const r = vitkit(args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('info names the family and its switches', () => {
  const info = JSON.parse(ok(['info', `${FAMILIES}dinov2_reg/hf`, '--json']));
  assert.equal(info.family, 'DINOv2 (layer scale, 2 registers, position embeddings on patches only)');
  assert.equal(info.config.regTokens, 2);
  assert.match(ok(['info', `${FAMILIES}clip/hf`]), /architecture {2}CLIP \(pre-norm, no patch bias, quick_gelu MLP\)/);
});

test('export-onnx: float32 gives transformers\' output; --int8 stays close to it', async () => {
  for (const [name, out, tol] of [['siglip', 'pooled', 1e-4], ['clip', 'logits', 1e-4], ['clip', 'logits', 0.05]] as const) {
    const golden = familyExpected(name);
    const int8 = tol > 1e-4;
    const file = join(tmp, `${name}${int8 ? '-int8' : ''}.onnx`);
    ok(['export-onnx', `${FAMILIES}${name}/hf`, file, '--outputs', out, ...(int8 ? ['--int8'] : [])]);
    const session = await Session.create(readFileSync(file), { threads: 1 });
    const err = relErr((await session.run({ images: golden.get('input')! }))[out]!, golden.get('hf.out')!);
    assert.ok(err < tol, `${name}${int8 ? ' int8' : ''}: ${err}`);
    await session.release();
  }
});

test('convert: a family converts to vitkit and timm files that load as the same family; --to hf says why not', () => {
  for (const to of ['vitkit', 'timm']) {
    const file = join(tmp, `dinov2-${to}.safetensors`);
    ok(['convert', `${FAMILIES}dinov2_reg/hf`, file, '--to', to]);
    assert.equal(JSON.parse(ok(['info', file, '--json', ...(to === 'timm' ? ['--heads', '2'] : [])])).config.regTokens, 2);
  }
  const r = vitkit(['convert', `${FAMILIES}dinov2_reg/hf`, join(tmp, 'hf-out'), '--to', 'hf']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /covers the paper's ViT only; this model has 'reg_token': save it as timm or vitkit/);
});
