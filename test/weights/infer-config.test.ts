import { parameterShapes } from '../../src/model/params.ts';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { float32 } from '../../src/graph/tensor.ts';
import { defaultHeads } from '../../src/model/config.ts';
import { checkWeights, inferConfig } from '../../src/weights/infer-config.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertUserError, manifest, manifestConfig } from './helpers.ts';

const load = (model: string) => readSafetensors(join(SHARED, model, 'timm.safetensors')).tensors;

for (const model of Object.keys(manifest.models)) {
  test(`${model}: shapes + heads/eps hints give the manifest's config, and the weights fit it`, () => {
    const sd = load(model);
    const want = manifestConfig(model);
    const cfg = inferConfig(sd, model, { numHeads: want.numHeads, layerNormEps: want.layerNormEps });
    assert.deepEqual(cfg, want);
    checkWeights(cfg, sd, model);
    assert.deepEqual([...parameterShapes(cfg).keys()].sort(), [...sd.keys()].sort());
    const bare = inferConfig(sd, model);
    assert.equal(bare.numHeads, defaultHeads(want.embedDim));
    assert.equal(bare.layerNormEps, 1e-6);
  });
}

test('overrides win over hints and shapes, and checkWeights reports the disagreement', () => {
  const sd = load('micro_gray_p4_28');
  const cfg = inferConfig(sd, 'g.safetensors', { numHeads: 4 }, { numHeads: 2, numClasses: 5 });
  assert.equal(cfg.numHeads, 2);
  assertUserError(
    () => checkWeights(cfg, sd, 'g.safetensors'),
    /g\.safetensors does not fit/,
    /'head\.weight' has shape \[10, 32\], expected \[5, 32\]/,
    /'head\.bias' has shape \[10\], expected \[5\]/,
  );
});

test('missing, misshapen and unexpected tensors are named', () => {
  const sd = load('micro_gray_p4_28');
  const cfg = inferConfig(sd, 'g');
  const broken = new Map(sd);
  broken.delete('blocks.1.norm2.bias');
  broken.set('blocks.0.mlp.fc1.weight', float32([64, 31], new Float32Array(64 * 31)));
  broken.set('extra.weight', float32([1], [0]));
  assertUserError(
    () => checkWeights(cfg, broken, 'x.pth'),
    /^x\.pth does not fit the ViT config/,
    /'blocks\.0\.mlp\.fc1\.weight' has shape \[64, 31\], expected \[64, 32\]/,
    /'blocks\.1\.norm2\.bias' is missing \(expected \[32\]\)/,
    /unexpected tensors 'extra\.weight'/,
  );
});

test('tensors that are not a ViT are UserErrors naming the file', () => {
  assertUserError(
    () => inferConfig(new Map([['fc.weight', float32([1], [0])]]), 'r.pth'),
    /r\.pth is not a ViT checkpoint: tensor 'patch_embed\.proj\.weight' is missing \(found fc\.weight\)/,
  );
  const sd = new Map(load('micro_gray_p4_28'));
  sd.set('pos_embed', float32([1, 48, 32], new Float32Array(48 * 32)));
  assertUserError(
    () => inferConfig(sd, 'p.safetensors'),
    /p\.safetensors: pos_embed has shape \[1, 48, 32\], 47 patch tokens after 1 prefix token \(or 48 without\), which is not a square grid/,
  );
});

test('pre-logits and no-qkv-bias variants are inferred', () => {
  const sd = new Map(load('micro_gray_p4_28'));
  sd.set('pre_logits.fc.weight', float32([16, 32], new Float32Array(16 * 32)));
  sd.set('pre_logits.fc.bias', float32([16], new Float32Array(16)));
  sd.set('head.weight', float32([10, 16], new Float32Array(160)));
  for (const i of [0, 1]) sd.delete(`blocks.${i}.attn.qkv.bias`);
  const cfg = inferConfig(sd, 'x');
  assert.equal(cfg.preLogitsDim, 16);
  assert.equal(cfg.qkvBias, false);
  checkWeights(cfg, sd, 'x');
});
