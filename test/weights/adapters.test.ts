// Adapter files: only what a fine-tune changed is written; loading one completes it from its base and merges, and a
// base with other weights (changed in place, or another file) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { withNewHead } from '../../src/model/head.ts';
import { initParameters } from '../../src/model/init.ts';
import { mergeLora, withLoraAdapters } from '../../src/model/lora.ts';
import { atResolution } from '../../src/model/pos-embed.ts';
import { baseIdentity, saveAdapters, weightsHash } from '../../src/weights/adapters.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { parseSafetensors } from '../../src/weights/safetensors-codec.ts';
import { withFileSource } from '../../src/weights/file-source.ts';
import { tempDir } from '../data/helpers.ts';

const dir = tempDir('adapters');
const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 2, numHeads: 2, mlpDim: 32, numClasses: 5,
});
const basePath = join(dir, 'base.safetensors');
const baseWeights = initParameters(config, { seed: 1 });
saveCheckpoint(basePath, { config, weights: baseWeights }, 'timm');

/** A LoRA fine-tune of the base at 12 px with a new 3-class head, its adapters and head "trained" (set at random). */
function fineTuned() {
  const base = loadCheckpoint(basePath, { numHeads: 2 });
  const resized = atResolution(base.config, base.weights, 12);
  const headed = withNewHead(resized.config, resized.weights, 3);
  const lora = { rank: 2, targets: ['qkv', 'fc2'] as const };
  const weights = withLoraAdapters(headed.config, headed.weights, lora);
  let k = 0;
  for (const [n, t] of weights) {
    if (n.endsWith('lora_B') || n.startsWith('head.')) (t.data as Float32Array).forEach((_, i, d) => (d[i] = Math.sin(++k)));
  }
  const trained = [...weights.keys()].filter((n) => n.includes('lora_') || n.startsWith('head.'));
  return { base, config: headed.config, weights, lora, trained };
}

test('an adapter file holds the adapters, the new head and the resampled pos_embed only; it loads merged', () => {
  const ft = fineTuned();
  const path = join(dir, 'ft.safetensors');
  const n = saveAdapters(path, { config: ft.config, weights: ft.weights, labels: ['x', 'y', 'z'] }, {
    base: baseIdentity(basePath, ft.base.weights), baseWeights: ft.base.weights, trained: ft.trained, lora: ft.lora,
  });
  const stored = withFileSource(path, (src) => [...parseSafetensors(src).tensors.keys()]);
  assert.equal(n, stored.length);
  assert.deepEqual(stored.filter((k) => !k.includes('lora_')).sort(), ['head.bias', 'head.weight', 'pos_embed']);
  assert.ok(statSync(path).size < statSync(basePath).size / 3);
  const loaded = loadCheckpoint(path);
  assert.deepEqual(loaded.config, ft.config);
  assert.deepEqual(loaded.labels, ['x', 'y', 'z']);
  const merged = mergeLora(ft.config, ft.weights, ft.lora);
  assert.deepEqual([...loaded.weights.keys()], [...merged.keys()]);
  for (const [k, t] of merged) assert.deepEqual(loaded.weights.get(k)!.data, t.data, k);
});

test('the base is identified by its weights: another base is refused, the same weights elsewhere are accepted', () => {
  const ft = fineTuned();
  const path = join(dir, 'ft2.safetensors');
  saveAdapters(
    path,
    { config: ft.config, weights: ft.weights },
    { base: baseIdentity(basePath, ft.base.weights), baseWeights: ft.base.weights, trained: ft.trained, lora: ft.lora },
  );
  const copy = join(dir, 'copy.safetensors');
  saveCheckpoint(copy, { config, weights: baseWeights }, 'vitkit'); // same tensors, another format and place
  assert.equal(weightsHash(loadCheckpoint(copy).weights), weightsHash(ft.base.weights));
  assert.doesNotThrow(() => loadCheckpoint(path, {}, { base: copy }));
  const other = join(dir, 'other.safetensors');
  saveCheckpoint(other, { config, weights: initParameters(config, { seed: 2 }) }, 'timm');
  assert.throws(
    () => loadCheckpoint(path, {}, { base: other }),
    /ft2\.safetensors was trained on other weights than .*other\.safetensors holds \(SHA-256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/,
  );
  saveCheckpoint(basePath, { config, weights: initParameters(config, { seed: 3 }) }, 'timm', { force: true }); // the base changed in place
  assert.throws(() => loadCheckpoint(path), /was trained on other weights than .*base\.safetensors holds/);
  saveCheckpoint(basePath, { config, weights: baseWeights }, 'timm', { force: true });
  assert.throws(() => loadCheckpoint(path, {}, { base: path }), /is itself an adapter file/);
});
