import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ViTConfig } from '../../src/model/config.ts';
import { type SaveFormat, loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { timmToHf } from '../../src/weights/hf.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { LOCAL, SHARED, assertSameTensors, assertUserError, manifest, manifestConfig, tempDir } from './helpers.ts';

const dir = tempDir();
const timmOf = (model: string) => readSafetensors(join(SHARED, model, 'timm.safetensors')).tensors;

/** What each format cannot record about a model, passed back as overrides. */
function unrecorded(format: string, cfg: ViTConfig): Partial<ViTConfig> {
  if (format === 'timm' || format === 'pth') return { numHeads: cfg.numHeads, layerNormEps: cfg.layerNormEps };
  return format === 'npz' ? { layerNormEps: cfg.layerNormEps } : {};
}

/** The config a format loads as: a Hugging Face checkpoint's records transformers' resampling (config.ts). */
const asLoaded = (format: string, cfg: ViTConfig): ViTConfig => (format === 'hf' ? { ...cfg, posResample: 'transformers' } : cfg);

for (const [model, m] of Object.entries(manifest.models)) {
  const want = manifestConfig(model);
  for (const file of m.formats) {
    test(`${model}/${file} loads to the canonical weights and the manifest's config`, () => {
      const format = file === 'hf/' ? 'hf' : file === 'google.npz' ? 'npz' : 'timm';
      const ckpt = loadCheckpoint(join(SHARED, model, file), unrecorded(format, want));
      assert.equal(ckpt.format, format);
      assert.deepEqual(ckpt.config, asLoaded(format, want));
      assertSameTensors(ckpt.weights, timmOf(model), 1e-7);
      assert.deepEqual([...ckpt.weights.keys()].slice(0, 3), ['cls_token', 'pos_embed', 'patch_embed.proj.weight'], 'timm order');
      if (format === 'hf') {
        assert.deepEqual(ckpt.labels, Array.from({ length: want.numClasses }, (_, i) => `class_${i}`));
        // resample 2 in preprocessor_config.json: PIL's bilinear
        assert.deepEqual(ckpt.preprocess, { mean: m.mean, std: m.std, resize: 'squash', imgSize: want.imgSize, interpolation: 'bilinear' });
      } else if (format === 'npz') {
        assert.deepEqual(ckpt.preprocess, { mean: m.mean, std: m.std, resize: 'shorter-crop' });
      }
    });
  }

  test(`${model}: saving in every format and loading back gives identical tensors`, () => {
    const weights = timmOf(model);
    const labels = Array.from({ length: want.numClasses }, (_, i) => `c${i}`);
    const preprocess = { mean: m.mean, std: m.std, resize: 'squash' as const, imgSize: want.imgSize, interpolation: 'bicubic' as const };
    for (const format of ['timm', 'vitkit', 'npz', 'hf'] satisfies SaveFormat[]) {
      const out = join(dir, `${model}-${format}${format === 'hf' ? '' : format === 'npz' ? '.npz' : '.safetensors'}`);
      const save = () => saveCheckpoint(out, { config: want, weights, labels, preprocess, metadata: { note: 'x' } }, format);
      if (want.pool === 'avg' && (format === 'hf' || format === 'npz')) {
        assertUserError(save, /average pooling/, /save it as timm or vitkit/);
        continue;
      }
      save();
      const back = loadCheckpoint(out, unrecorded(format, want));
      assert.equal(back.format, format);
      assert.deepEqual(back.config, asLoaded(format, want), format);
      assertSameTensors(back.weights, weights);
      if (format === 'vitkit' || format === 'hf') {
        assert.deepEqual(back.labels, labels);
        assert.deepEqual(back.preprocess, preprocess);
      }
      if (format === 'vitkit') assert.deepEqual(back.metadata, { note: 'x' });
    }
  });
}

test('the .pth fixture loads, also as pytorch_model.bin in a Hugging Face directory', () => {
  const want = manifestConfig('micro_gray_p4_28');
  const ckpt = loadCheckpoint(join(LOCAL, 'micro_gray_p4_28.pth'), unrecorded('pth', want));
  assert.equal(ckpt.format, 'pth');
  assert.deepEqual(ckpt.config, want);
  assertSameTensors(ckpt.weights, timmOf('micro_gray_p4_28'));
  const hf = join(dir, 'hf-bin');
  mkdirSync(hf);
  copyFileSync(join(SHARED, 'micro_gray_p4_28', 'hf', 'config.json'), join(hf, 'config.json'));
  copyFileSync(join(LOCAL, 'micro_gray_p4_28.pth'), join(hf, 'pytorch_model.bin'));
  const viaDir = loadCheckpoint(hf);
  assert.equal(viaDir.format, 'hf');
  assert.deepEqual(viaDir.config, asLoaded('hf', want));
});

test('sharded Hugging Face safetensors are merged through the index', () => {
  const hf = join(dir, 'hf-sharded');
  mkdirSync(hf);
  copyFileSync(join(SHARED, 'micro_p16_224', 'hf', 'config.json'), join(hf, 'config.json'));
  const all = [...timmToHf(timmOf('micro_p16_224'))];
  const shards = [all.slice(0, 10), all.slice(10)];
  const weightMap: Record<string, string> = {};
  shards.forEach((s, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(hf, name), new Map(s));
    for (const [k] of s) weightMap[k] = name;
  });
  writeFileSync(join(hf, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  assertSameTensors(loadCheckpoint(hf).weights, timmOf('micro_p16_224'));
});

test('a file with an unknown extension is recognised from its bytes', () => {
  for (const [src, format] of [['timm.safetensors', 'timm'], ['google.npz', 'npz']] as const) {
    const copy = join(dir, `renamed-${format}.weights`);
    copyFileSync(join(SHARED, 'micro_gray_p4_28', src), copy);
    assert.equal(loadCheckpoint(copy).format, format);
  }
  const pth = join(dir, 'renamed.ckpt');
  copyFileSync(join(LOCAL, 'micro_gray_p4_28.pth'), pth);
  assert.equal(loadCheckpoint(pth).format, 'pth');
});

test('existing outputs are kept unless forced', () => {
  const cfg = manifestConfig('micro_gray_p4_28');
  const weights = timmOf('micro_gray_p4_28');
  const out = join(dir, 'existing.safetensors');
  writeFileSync(out, 'precious');
  assertUserError(() => saveCheckpoint(out, { config: cfg, weights }, 'timm'), /existing\.safetensors already exists/, /--force/);
  assert.equal(readFileSync(out, 'utf8'), 'precious');
  saveCheckpoint(out, { config: cfg, weights }, 'timm', { force: true });
  assertSameTensors(loadCheckpoint(out).weights, weights);
  const hfOut = join(dir, 'existing-hf');
  saveCheckpoint(hfOut, { config: cfg, weights }, 'hf');
  assert.deepEqual(
    readdirSync(hfOut).sort(),
    ['config.json', 'model.safetensors', 'preprocessor_config.json'],
    'ImageNet normalisation when the checkpoint names none',
  );
  assertUserError(() => saveCheckpoint(hfOut, { config: cfg, weights }, 'hf'), /existing-hf already exists/);
});

test('weights that do not fit the config are not saved', () => {
  const cfg = { ...manifestConfig('micro_gray_p4_28'), numClasses: 3 };
  const out = join(dir, 'misfit.safetensors');
  assertUserError(
    () => saveCheckpoint(out, { config: cfg, weights: timmOf('micro_gray_p4_28') }, 'vitkit'),
    /misfit\.safetensors does not fit/,
    /'head\.weight' has shape \[10, 32\], expected \[3, 32\]/,
  );
  assert.throws(() => readFileSync(out));
});

test('bad paths and files are UserErrors naming the path and what is accepted', () => {
  assertUserError(
    () => loadCheckpoint(join(dir, 'nope.safetensors')),
    new RegExp(
      String.raw`nope\.safetensors does not exist \(expected a \.safetensors .* Hugging Face or timm directory with config\.json, ` +
        String.raw`or a Hub id in the local cache\)`,
    ),
  );
  const empty = join(dir, 'empty-dir');
  mkdirSync(empty);
  assertUserError(() => loadCheckpoint(empty), /empty-dir is a directory without config\.json/);
  writeFileSync(join(empty, 'config.json'), '{"model_type": "vit"}');
  assertUserError(() => loadCheckpoint(empty), /empty-dir has config\.json but no weights \(expected one of model\.safetensors/);
  writeFileSync(join(empty, 'config.json'), '{"model_type": "bert"}');
  assertUserError(() => loadCheckpoint(empty), /config\.json has model_type 'bert'/);
  writeFileSync(join(empty, 'config.json'), '{oops');
  assertUserError(() => loadCheckpoint(empty), /config\.json is not valid JSON/);
  const junk = join(dir, 'junk.bin.weights');
  writeFileSync(junk, Buffer.alloc(100, 7));
  assertUserError(() => loadCheckpoint(junk), /junk\.bin\.weights is not a checkpoint vitkit recognises/);
  const bytes = readFileSync(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors'));
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, 5000));
  assertUserError(() => loadCheckpoint(cut), /cut\.safetensors is truncated/);
  const rnd = join(dir, 'random.npz');
  writeFileSync(rnd, Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff)));
  assertUserError(() => loadCheckpoint(rnd), /random\.npz is corrupt/);
  assertUserError(
    () => loadCheckpoint(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors'), { embedDim: 64, numHeads: 4 }),
    /timm\.safetensors does not fit/,
    /'cls_token' has shape \[1, 1, 32\], expected \[1, 1, 64\]/,
  );
});

test('vitkit metadata from elsewhere is checked field by field', () => {
  const weights = readSafetensors(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors')).tensors;
  const cases: [unknown, RegExp][] = [
    [null, /no config object/],
    [{ config: null }, /no config object/],
    [{ config: {}, labels: 'abc' }, /labels are not a list of strings/],
    [{ config: {}, preprocess: { mean: [0.5], std: [0] } }, /positive std/],
    [{ config: {}, preprocess: { mean: [0.5], std: [0.5], interpolation: 'lanczos' } }, /interpolation is not bicubic\|bilinear/],
    [{ config: { layerNormEps: -1 } }, /LayerNorm epsilon -1/],
  ];
  cases.forEach(([meta, pattern], i) => {
    const path = join(dir, `meta${i}.safetensors`);
    writeSafetensors(path, weights, { vitkit: JSON.stringify(meta) });
    assertUserError(() => loadCheckpoint(path), new RegExp(`meta${i}\\.safetensors`), pattern);
  });
});
