// timm's Hub folder: what vitkit writes (config.json with architecture, model_args, pretrained_cfg, label_names
// beside model.safetensors) reads back to the same model, preprocessing and class names; what it reads
// (model.safetensors or, in older repos, pytorch_model.bin) comes only from the folder's own files.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { presets } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { readTimmDir } from '../../src/weights/timm-dir.ts';
import { FIXTURES } from '../fixtures.ts';
import { TIMM_CONFIG } from '../hub/hub-server.ts';
import { assertSameTensors, tempDir } from './helpers.ts';

const dir = tempDir();
const tiny = { ...presets.vit_tiny_patch16_224!, imgSize: 32, numClasses: 3 };
const weights = initParameters(tiny, { seed: 1 });

test("a Hugging Face model's straight resize is timm's crop_mode 'squash'; a timm preset is named as timm names it", () => {
  const preprocess = { mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6], resize: 'squash' as const, imgSize: 32, interpolation: 'bicubic' as const };
  const out = join(dir, 'squash');
  saveCheckpoint(out, { config: tiny, weights, labels: ['a', 'b', 'c'], preprocess }, 'timm');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.architecture, 'vit_tiny_patch16_224');
  assert.deepEqual([cfg.num_classes, cfg.num_features, cfg.global_pool], [3, 192, 'token']);
  assert.deepEqual(cfg.model_args, {
    img_size: 32, num_heads: 3, num_classes: 3, global_pool: 'token', patch_size: 16, in_chans: 3, embed_dim: 192, depth: 12,
    mlp_ratio: 4, qkv_bias: true, class_token: true,
  });
  assert.deepEqual([cfg.pretrained_cfg.crop_mode, cfg.pretrained_cfg.crop_pct, cfg.pretrained_cfg.interpolation], ['squash', 1, 'bicubic']);
  const back = loadCheckpoint(out);
  assert.equal(back.format, 'timm');
  assert.deepEqual(back.config, tiny);
  assertSameTensors(back.weights, weights);
  assert.deepEqual(back.preprocess, preprocess);
  assert.deepEqual(back.labels, ['a', 'b', 'c']);
});

test('shapes no preset has: a plain ViT that model_args rebuild (average pooling too)', () => {
  const odd = { ...tiny, embedDim: 24, numHeads: 2, mlpDim: 48, depth: 1, classToken: false, pool: 'avg' as const };
  const out = join(dir, 'odd');
  saveCheckpoint(out, { config: odd, weights: initParameters(odd), preprocess: { mean: [0.5], std: [0.5], resize: 'shorter-crop' } }, 'timm');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.architecture, 'vit_base_patch16_224');
  assert.deepEqual([cfg.global_pool, cfg.model_args.embed_dim, cfg.model_args.class_token, cfg.model_args.mlp_ratio], ['avg', 24, false, 2]);
  assert.deepEqual([cfg.pretrained_cfg.crop_mode, cfg.pretrained_cfg.crop_pct, cfg.pretrained_cfg.interpolation], ['center', 0.875, 'bicubic']);
  assert.deepEqual(loadCheckpoint(out).config, odd);
});

const GRAY = join(FIXTURES, 'micro_gray_p4_28', 'timm.safetensors');
const GRAY_PTH = new URL('../fixtures/weights/micro_gray_p4_28.pth', import.meta.url).pathname;

function timmDir(weights: Record<string, string>, link = false): string {
  const dir = join(tempDir(), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(TIMM_CONFIG));
  for (const [name, src] of Object.entries(weights)) (link ? symlinkSync : copyFileSync)(src, join(dir, name));
  return dir;
}

test('pytorch_model.bin serves when there is no model.safetensors, with the same tensors', () => {
  const r = readTimmDir(timmDir({ 'pytorch_model.bin': GRAY_PTH }));
  for (const [name, t] of readSafetensors(GRAY).tensors) assert.deepEqual(r.weights.get(name)!.data, t.data, name);
  assert.deepEqual(r.preprocess?.mean, [0.5, 0.5, 0.5]);
});

test('weights linked from outside the folder are refused, naming the link', () => {
  assert.throws(() => readTimmDir(timmDir({ 'model.safetensors': GRAY }, true)), /model\.safetensors is a link to .*timm\.safetensors, outside /);
  assert.throws(() => readTimmDir(timmDir({})), /has timm's config\.json but neither model\.safetensors nor pytorch_model\.bin: re-download it/);
});
