// Checkpoints by Hub id from a Hugging Face cache laid out as huggingface_hub writes it (blobs + snapshot symlinks,
// refs/main), built from the fixtures in a temporary HF_HOME.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/inference/classifier.ts';
import { hubCacheDir, isHubId, resolveCheckpointPath } from '../../src/hub/cache.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from '../cli/run.ts';

const MICRO = `${FIXTURES}micro_p16_224`;
const home = tempDir('hf-home');
const hub = join(home, 'hub');
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

/** A cached model: each file a blob, linked from snapshots/<commit>/, and refs/<ref> naming the commit. */
function cache(id: string, commit: string, files: Record<string, string>, ref = 'main'): void {
  const repo = join(hub, `models--${id.replace('/', '--')}`);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  for (const [name, src] of Object.entries(files)) {
    const blob = join(repo, 'blobs', `${commit.slice(0, 8)}-${name}`);
    copyFileSync(src, blob);
    symlinkSync(join('..', '..', 'blobs', `${commit.slice(0, 8)}-${name}`), join(repo, 'snapshots', commit, name));
  }
  writeFileSync(join(repo, 'refs', ref), commit);
}

cache(
  'google/vit-micro',
  COMMIT,
  Object.fromEntries(['config.json', 'model.safetensors', 'preprocessor_config.json'].map((f) => [f, join(MICRO, 'hf', f)])),
);
// timm's Hub layout: its own config.json (architecture + pretrained_cfg) beside timm-named weights
const timmConfig = join(home, 'timm-config.json');
writeFileSync(timmConfig, JSON.stringify({
  architecture: 'vit_micro_test', num_classes: 10, num_features: 64, global_pool: 'token', model_args: { num_heads: 2 },
  pretrained_cfg: {
    tag: 'test', input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 0.9, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
    num_classes: 10,
  },
}));
cache('timm/vit_micro_test.in1k', COMMIT, { 'config.json': timmConfig, 'model.safetensors': join(MICRO, 'timm.safetensors') });
cache(
  'timm/vit_micro_test.in1k',
  'ffff0000ffff0000ffff0000ffff0000ffff0000',
  { 'config.json': timmConfig, 'model.safetensors': join(MICRO, 'timm.safetensors') },
  'v2',
);
process.env.HF_HOME = home;
delete process.env.HF_HUB_CACHE;

test('the cache folder follows huggingface_hub: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME, ~/.cache', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }), '/c');
  assert.equal(hubCacheDir({ HF_HOME: '/h' }), '/h/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
  assert.ok(['google/vit-base-patch16-224', 'timm/vit_base_patch16_224.augreg2_in21k_ft_in1k'].every(isHubId));
  assert.ok(!['runs/best.safetensors', './a/b', '/a/b', 'model.npz', 'a/b/c'].some(isHubId));
});

test('a transformers model by id loads as its snapshot folder does', () => {
  const byId = loadModel('google/vit-micro');
  const byDir = loadModel(join(MICRO, 'hf'));
  assert.equal(loadCheckpoint('google/vit-micro').path, join(hub, 'models--google--vit-micro', 'snapshots', COMMIT));
  assert.deepEqual([byId.format, byId.labels, byId.preprocess], [byDir.format, byDir.labels, byDir.preprocess]);
  assert.deepEqual(byId.weights.get('head.weight')!.data, byDir.weights.get('head.weight')!.data);
});

test("a timm model by id: timm's weights, heads from model_args, timm's eval transform from pretrained_cfg", () => {
  const m = loadModel('timm/vit_micro_test.in1k');
  assert.equal(m.format, 'timm');
  assert.equal(m.config.numHeads, 2);
  assert.deepEqual([m.preprocess.mean, m.preprocess.cropPct, m.preprocess.resize], [[0.5, 0.5, 0.5], 0.9, 'shorter-crop']);
  assert.deepEqual(
    m.weights.get('head.weight')!.data,
    loadCheckpoint(join(MICRO, 'timm.safetensors'), { numHeads: 2 }).weights.get('head.weight')!.data,
  );
  assert.match(loadCheckpoint('timm/vit_micro_test.in1k', {}, { revision: 'v2' }).path, /snapshots\/ffff0000/);
  assert.match(loadCheckpoint('timm/vit_micro_test.in1k', {}, { revision: COMMIT }).path, new RegExp(COMMIT));
});

test('a local folder of the same name wins over the cache', () => {
  const cwd = tempDir('hf-local');
  mkdirSync(join(cwd, 'google'));
  symlinkSync(join(MICRO, 'hf'), join(cwd, 'google', 'vit-micro'));
  const before = process.cwd();
  process.chdir(cwd);
  try {
    assert.equal(resolveCheckpointPath('google/vit-micro'), 'google/vit-micro');
  } finally {
    process.chdir(before);
  }
});

test('loading an id or revision not in the cache is one line naming the folder and `vitkit pull`', () => {
  assert.throws(() => loadCheckpoint('google/vit-absent'), {
    message:
      `google/vit-absent is neither a local path nor a model in the Hugging Face cache (no ${hub}/models--google--vit-absent): ` +
      `check the path, or download it with \`vitkit pull google/vit-absent\` (or pull() in the API)`,
  });
  assert.throws(() => loadCheckpoint('google/vit-micro', {}, { revision: 'v9' }), {
    message:
      `google/vit-micro: revision 'v9' is not in the Hugging Face cache (${hub}/models--google--vit-micro has refs main): ` +
      `download it with \`vitkit pull google/vit-micro --revision v9\` (or pull() in the API)`,
  });
});

test('with HF_HUB_OFFLINE=1 the CLI reads the cache alone: a missing id or revision names the switch', () => {
  process.env.HF_HUB_OFFLINE = '1';
  const r = vitkit(['predict', join(MICRO, 'img_0.png'), '--checkpoint', 'google/vit-absent']);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    `vitkit: google/vit-absent is not a local path; as a Hub model id: google/vit-absent at revision 'main' ` +
      `is not in the Hugging Face cache (${hub}/models--google--vit-absent) and HF_HUB_OFFLINE is set: unset HF_HUB_OFFLINE to download it\n`,
  );
  const rev = vitkit(['info', 'google/vit-micro', '--revision', 'v9']);
  assert.match(
    rev.stderr,
    new RegExp(
      String.raw`^vitkit: google\/vit-micro is not a local path; as a Hub model id: ` +
        String.raw`google\/vit-micro at revision 'v9' is not in the Hugging Face cache .* HF_HUB_OFFLINE is set`,
    ),
  );
  const ok = vitkit(['predict', join(MICRO, 'img_0.png'), '--checkpoint', 'timm/vit_micro_test.in1k', '--revision', 'v2', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
});
