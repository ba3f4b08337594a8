// The ViT families through the CLI as a user runs it: info names the family, export-onnx (float32 and --int8)
// writes a graph that onnxruntime runs to transformers' output, convert writes the formats that hold them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
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
  assert.match(ok(['info', `${FAMILIES}beit/hf`]), /other sizes {3}relative position bias tables resampled as transformers does/);
  assert.match(ok(['info', `${FAMILIES}beit/timm.pth`]), /other sizes {3}relative position bias tables resampled as timm does/);
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

test('convert: a family converts to vitkit, timm and hf that load as the same family; --to npz says why not', () => {
  for (const to of ['vitkit', 'timm', 'hf']) {
    const file = join(tmp, `dinov2-${to}${to === 'hf' ? '' : '.safetensors'}`);
    ok(['convert', `${FAMILIES}dinov2_reg/hf`, file, '--to', to]);
    assert.equal(JSON.parse(ok(['info', file, '--json', ...(to === 'timm' ? ['--heads', '2'] : [])])).config.regTokens, 2);
  }
  const r = vitkit(['convert', `${FAMILIES}clip/hf`, join(tmp, 'clip-out'), '--to', 'npz']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /holds the paper's ViT; this model is CLIP \(.*\): save it as timm or vitkit/);
});

test("embed writes a family's embedding: CLIP's image_embeds (16 wide), SigLIP's pooled output; predict runs a DINOv2 classifier", async () => {
  const data = join(tmp, 'images');
  for (const [cls, shade] of [['a', 40], ['b', 200]] as const) {
    mkdirSync(join(data, cls), { recursive: true });
    for (let i = 0; i < 5; i++) {
      await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: shade, g: 9 * i, b: 255 - shade } } })
        .png()
        .toFile(join(data, cls, `${i}.png`));
    }
  }
  for (const [name, dim] of [['clip', 16], ['siglip', 32]] as const) {
    const out = join(tmp, `${name}.npy`);
    ok(['embed', '--checkpoint', `${FAMILIES}${name}/hf`, '--data', data, '--out', out, '--no-cache']);
    const header = readFileSync(out).subarray(0, 128).toString('latin1');
    assert.match(header, new RegExp(`'shape': \\(2, ${dim}\\)`), name); // the 20% test split: one image per class
  }
  assert.match(ok(['predict', join(data, 'a', '0.png'), '--checkpoint', `${FAMILIES}dinov2_cls/hf`, '--json']), /"top"|"label"/);
});
