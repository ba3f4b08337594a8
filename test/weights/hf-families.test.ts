// Hugging Face folders of the families (src/weights/hf-families.ts): what a damaged or unsupported folder says, and
// which resampling rule a Hugging Face checkpoint keeps. Their outputs against transformers are in
// test/model/families.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateDict } from '../../src/graph/tensor.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { atResolution } from '../../src/model/pos-embed.ts';
import { FAMILIES, familyExpected, relErr, runModel } from '../model/family-fixtures.ts';
import { assertUserError, tempDir } from './helpers.ts';

const root = tempDir();
let n = 0;

/** A copy of a fixture's HF folder with its config and tensors edited. */
function edited(name: string, cfg: (c: Record<string, unknown>) => void, tensors: (t: StateDict) => void = () => {}): string {
  const dir = join(root, `${name}-${n++}`);
  mkdirSync(dir);
  const c = JSON.parse(readFileSync(`${FAMILIES}${name}/hf/config.json`, 'utf8'));
  cfg(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
  const t = readSafetensors(`${FAMILIES}${name}/hf/model.safetensors`).tensors;
  tensors(t);
  writeSafetensors(join(dir, 'model.safetensors'), t);
  return dir;
}

test('an unknown model type lists the ones vitkit reads', () => {
  assertUserError(
    () => loadCheckpoint(edited('dinov2', (c) => (c.model_type = 'swin'))),
    /model_type 'swin' \(vitkit reads vit, deit, dinov2, .*beit.*\)/,
  );
});

test('an activation vitkit does not run is named with the ones it does', () => {
  assertUserError(
    () => loadCheckpoint(edited('clip', (c) => (c.hidden_act = 'relu'))),
    /hidden_act 'relu' \(vitkit runs gelu, quick_gelu, gelu_pytorch_tanh/,
  );
});

test('a missing key projection, a shared BEiT bias table and a missing layer scale are named', () => {
  assertUserError(
    () => loadCheckpoint(edited('siglip', () => {}, (t) => t.delete('encoder.layers.0.self_attn.k_proj.weight'))),
    /lack encoder\.layers\.0\.self_attn\.k_proj\.weight/,
  );
  assertUserError(
    () =>
      loadCheckpoint(
        edited(
          'beit',
          () => {},
          (t) =>
            t.set(
              'beit.encoder.relative_position_bias.relative_position_bias_table',
              t.get('beit.encoder.layer.0.attention.attention.relative_position_bias.relative_position_bias_table')!,
            ),
        ),
      ),
    /shares one relative position bias table/,
  );
  assertUserError(
    () => loadCheckpoint(edited('dinov2', () => {}, (t) => t.delete('encoder.layer.1.layer_scale2.lambda1'))),
    /'blocks\.1\.ls2\.gamma' is missing/,
  );
});

test('config.json that disagrees with the weights is refused before anything runs', () => {
  assertUserError(() => loadCheckpoint(edited('deit_distilled', (c) => (c.hidden_size = 64))), /says hidden_size 64 but the weights have 32/);
});

test("a whole CLIPModel folder: the vision tower is read from vision_config, the text tower dropped", () => {
  const dir = edited('clip', (c) => {
    for (const k of Object.keys(c)) if (k !== 'architectures') delete c[k];
    Object.assign(c, { model_type: 'clip', vision_config: JSON.parse(readFileSync(`${FAMILIES}clip/hf/config.json`, 'utf8')) });
  }, (t) => {
    t.set('text_model.embeddings.token_embedding.weight', { dtype: 'float32', shape: [4, 8], data: new Float32Array(32) });
    t.set('logit_scale', { dtype: 'float32', shape: [], data: new Float32Array(1) });
  });
  const c = loadCheckpoint(dir);
  assert.equal(c.config.mlp, 'quick_gelu');
  assert.equal(c.config.projectionHead, true);
  assert.ok(![...c.weights.keys()].some((k) => k.startsWith('text_') || k === 'logit_scale'));
});

test("a whole SiglipModel folder (save_pretrained's): the vision tower as the SiglipVisionModel's, transformers' output", async () => {
  // hf_model's vision weights are hf/'s (make_fixtures.py asserts get_image_features equals hf.out); its text config
  // has other heads, activation and eps, so reading the wrong config would change the output
  const whole = loadCheckpoint(`${FAMILIES}siglip/hf_model`);
  const vision = loadCheckpoint(`${FAMILIES}siglip/hf`);
  assert.deepEqual(whole.config, vision.config);
  assert.deepEqual([...whole.weights.keys()].sort(), [...vision.weights.keys()].sort());
  for (const [k, t] of vision.weights) assert.deepEqual(whole.weights.get(k), t, k);
  const golden = familyExpected('siglip');
  const err = relErr(await runModel(whole.config, whole.weights, golden.get('input')!), golden.get('hf.out')!);
  assert.ok(err < 1e-4, `${err}`); // float32 against transformers, as the families' golden tests (test/model/families.test.ts)
});

test("CLIP's and DINOv2's processors (shorter side, then centre crop) become timm's eval transform (resample 3: bicubic)", () => {
  for (const [name, shortest, crop, pct] of [['clip', 224, 224, 1], ['dinov2', 256, 224, 0.875]] as const) {
    const dir = edited(name, () => {});
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({
      do_center_crop: true, crop_size: { height: crop, width: crop }, size: { shortest_edge: shortest },
      image_mean: [0.48, 0.46, 0.41], image_std: [0.27, 0.26, 0.28], do_resize: true, resample: 3,
    }));
    assert.deepEqual(loadCheckpoint(dir).preprocess, {
      mean: [0.48, 0.46, 0.41],
      std: [0.27, 0.26, 0.28],
      resize: 'shorter-crop',
      imgSize: crop,
      cropPct: pct,
      interpolation: 'bicubic',
    });
  }
});

test("converted, a Hugging Face checkpoint keeps transformers' resampling in vitkit's format, takes timm's in timm's", () => {
  const hf = loadCheckpoint(`${FAMILIES}clip/hf`);
  const rules = Object.fromEntries((['vitkit', 'timm'] as const).map((format) => {
    const file = join(root, `clip-${format}.safetensors`);
    saveCheckpoint(file, hf, format);
    return [format, loadCheckpoint(file, { mlp: 'quick_gelu', numHeads: 2, layerNormEps: 1e-5 }).config.posResample];
  }));
  // vitkit's metadata holds the whole config; a timm file runs as timm would run it (--pos-resample transformers
  // or the posResample override asks for transformers' way)
  assert.deepEqual(rules, { vitkit: 'transformers', timm: undefined });
});

test("a bare weight file with transformers' ViT names (model.safetensors without its folder) resamples as transformers", async () => {
  const c = loadCheckpoint(`${FAMILIES}vit/hf/model.safetensors`, { numHeads: 2, layerNormEps: 1e-12 });
  assert.equal(c.format, 'hf');
  assert.equal(c.config.posResample, 'transformers');
  const golden = familyExpected('vit');
  const alt = atResolution(c.config, c.weights, 42);
  const err = relErr(await runModel(alt.config, alt.weights, golden.get('input_alt')!), golden.get('hf.out_alt')!);
  assert.ok(err < 1e-4, `${err}`);
});
