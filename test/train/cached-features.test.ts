import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkConfig, presets } from '../../src/model/config.ts';
import { cacheLimit, featureCaching } from '../../src/train/cached-features.ts';
import { fashionMnistRecipe } from '../../src/train/recipe.ts';

const b16 = checkConfig({ ...presets['vit_base_patch16_224']!, numClasses: 10 });
const recipe = { ...fashionMnistRecipe, config: b16 };

test('what a run caches: the head’s input for head-only, the tokens entering block depth−K for last:K, nothing else', () => {
  assert.deepEqual(featureCaching({ ...recipe, train: {} }, 1000), { start: 'features' });
  assert.deepEqual(featureCaching({ ...recipe, train: { lastBlocks: 4 } }, 1000), { start: { block: 8 } });
  assert.deepEqual(featureCaching({ ...recipe, train: { lastBlocks: 12 } }, 1000), { start: { block: 0 } });
  for (const train of [{ all: true }, { bias: true }, { lastBlocks: 4, bias: true }, { lora: { rank: 8 } }]) {
    assert.deepEqual(featureCaching({ ...recipe, train }, 1000), {});
  }
  assert.deepEqual(featureCaching({ ...recipe, train: {} }, 1000, false), {}, '--no-cache-features');
});

test('a cache that would pass its memory limit is refused with the figures', () => {
  // a 224-px B/16 image's tokens: 197 × 768 float32 = 605,184 B
  const fits = Math.floor(cacheLimit() / (197 * 768 * 4));
  assert.deepEqual(featureCaching({ ...recipe, train: { lastBlocks: 4 } }, fits), { start: { block: 8 } });
  const { start, reason } = featureCaching({ ...recipe, train: { lastBlocks: 4 } }, fits + 1);
  assert.equal(start, undefined);
  assert.match(reason!, /^the frozen blocks' output is not cached: for [\d,]+ images it would take [\d.]+ GiB, over the [\d.]+ GiB a cache may hold/);
});
