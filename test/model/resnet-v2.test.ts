// Golden tests of the hybrid ViTs (a ResNetV2 feature map as tokens): both shared fixtures, in timm and Google
// formats, give timm's logits, pooled features and per-layer attention within 1e-4; plus the backbone's layout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import { gridSize, preset, presets } from '../../src/model/config.ts';
import { countParameters } from '../../src/model/params.ts';
import { backboneFlops, featureSize, samePads } from '../../src/model/resnet-v2.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, expected, maxAbsDiff } from '../fixtures.ts';

interface HybridEntry { readonly heads: number; readonly formats: string[]; readonly backbone: { feature_map: number[]; grid: number[] } }
const hybrids = (JSON.parse(readFileSync(`${FIXTURES}manifest.json`, 'utf8')) as { hybrids: Record<string, HybridEntry> }).hybrids;

for (const [model, entry] of Object.entries(hybrids)) {
  const golden = expected(model);
  for (const format of entry.formats) {
    test(`${model}/${format} matches timm`, async () => {
      // A timm state dict cannot say the head count (the .npz can): pass it as the CLI flag would.
      const { config, weights } = loadCheckpoint(`${FIXTURES}${model}/${format}`, format.endsWith('.npz') ? {} : { numHeads: entry.heads });
      assert.ok(config.backbone, 'a hybrid config');
      assert.equal(featureSize(config.backbone, config.imgSize), entry.backbone.feature_map[1]);
      assert.equal(gridSize(config), entry.backbone.grid[0]);
      const session = await Session.create(toOnnx(inferenceGraph(config, weights, ['logits', 'pooled', 'attention'])));
      const out = await session.run({ images: golden.get('input')! });
      const errors = { logits: maxAbsDiff(out.logits!, golden.get('logits')!), pooled: maxAbsDiff(out.pooled!, golden.get('pooled')!) } as Record<
        string,
        number
      >;
      for (let i = 0; i < config.depth; i++) errors[`attn.${i}`] = maxAbsDiff(out[`attn.${i}`]!, golden.get(`attn.${i}`)!);
      for (const [k, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${k}: ${e}`);
    });
  }
}

test('hybrid presets have timm parameter counts', () => {
  const timm: Record<string, number> = {
    vit_tiny_r_s16_p8_224: 6_337_704,
    vit_tiny_r_s16_p8_384: 6_355_944,
    vit_small_r26_s32_224: 36_431_912,
    vit_small_r26_s32_384: 36_468_392,
    vit_base_r50_s16_224: 97_890_112,
    vit_base_r50_s16_384: 98_950_952,
    vit_large_r50_s32_224: 328_994_856,
    vit_large_r50_s32_384: 329_092_136,
  };
  for (const [name, count] of Object.entries(timm)) assert.equal(countParameters(preset(name)), count, name);
  assert.equal(gridSize(presets.vit_base_r50_s16_384!), 24);
  assert.equal(gridSize(presets.vit_tiny_r_s16_p8_224!), 7);
  assert.equal(gridSize(presets.vit_hybrid_cifar!), 8);
});

test("backbone compute: ResNet-50's stages at 224 px are ResNet-50's 4.1 GMACs", () => {
  const macs = backboneFlops({ stemChs: 64, layers: [3, 4, 6, 3], channels: [256, 512, 1024, 2048] }, 3, 224) / 2;
  assert.ok(Math.abs(macs / 1e9 - 4.1) < 0.05, `${macs}`);
});

test("TensorFlow 'SAME' padding as the fixtures' README spells it out", () => {
  assert.deepEqual(samePads(32, 7, 2), [2, 3]);
  assert.deepEqual(samePads(16, 3, 2), [0, 1]);
  assert.deepEqual(samePads(15, 3, 1), [1, 1]);
  assert.deepEqual(samePads(16, 1, 2), [0, 0]);
  assert.deepEqual(samePads(15, 3, 2), [1, 1]);
});

test('hybrid configs are checked: GroupNorm widths, stage lists, a feature map too small to project', () => {
  const cifar = presets.vit_hybrid_cifar!;
  assert.throws(
    () => preset('vit_hybrid_cifar', { backbone: { ...cifar.backbone!, stemChs: 48 } }),
    /width 48 does not split into GroupNorm's 32 groups/,
  );
  assert.throws(() => preset('vit_hybrid_cifar', { backbone: { ...cifar.backbone!, channels: [] } }), /1 stages but 0 channel widths/);
  assert.throws(() => preset('vit_hybrid_cifar', { patchSize: 16 }), /8×8 feature map of 128 channels, smaller than the 16-cell projection/);
  // Any resolution: 'SAME' layers round up, the projection floors.
  assert.equal(gridSize(preset('vit_hybrid_cifar', { imgSize: 40 })), 10);
  assert.equal(gridSize(preset('vit_tiny_r_s16_p8_224', { imgSize: 250 })), 7);
});
