import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embeddedPrefix, gridSize, preset, presets } from '../../src/model/config.ts';
import { countParameters, forwardFlops, parameterShapes } from '../../src/model/params.ts';

test('presets have timm parameter counts', () => {
  const timm: Record<string, number> = {
    vit_tiny_patch16_224: 5_717_416,
    vit_small_patch16_224: 22_050_664,
    vit_base_patch16_224: 86_567_656,
    vit_base_patch32_224: 88_224_232,
    vit_large_patch16_224: 304_326_632,
    vit_huge_patch14_224: 630_764_800,
  };
  for (const [name, count] of Object.entries(timm)) assert.equal(countParameters(preset(name)), count, name);
});

test('every preset has a consistent parameter layout', () => {
  for (const [name, cfg] of Object.entries(presets)) {
    const shapes = parameterShapes(cfg);
    const tokens = gridSize(cfg) ** 2 + embeddedPrefix(cfg);
    assert.deepEqual(shapes.get('pos_embed'), cfg.absPosEmbed === false ? undefined : [1, tokens, cfg.embedDim], name);
    assert.equal([...shapes.keys()].filter((k) => k.endsWith('attn.qkv.weight')).length, cfg.depth, name);
  }
});

test('avg pooling uses fc_norm, pre-logits adds a hidden layer before the head', () => {
  const avg = parameterShapes(preset('vit_tiny_patch16_224', { pool: 'avg' }));
  assert.ok(avg.has('fc_norm.weight') && !avg.has('norm.weight'));
  const pre = parameterShapes(preset('vit_tiny_patch16_224', { preLogitsDim: 192 }));
  assert.deepEqual(pre.get('pre_logits.fc.weight'), [192, 192]);
  assert.deepEqual(pre.get('head.weight'), [1000, 192]);
  assert.ok(!parameterShapes(preset('vit_tiny_patch16_224', { numClasses: 0 })).has('head.weight'));
});

test('forward FLOPs of B/16 match the commonly quoted 17.6 GFLOPs (2·MACs)', () => {
  const gflops = forwardFlops(preset('vit_base_patch16_224')) / 1e9;
  assert.ok(Math.abs(gflops - 35.1) < 0.5, `got ${gflops}`);
});
