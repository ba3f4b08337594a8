import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { withNewHead } from '../../src/model/head.ts';
import { initParameters } from '../../src/model/init.ts';
import { parameterShapes } from '../../src/model/params.ts';

test('withNewHead drops the head and pre-logits layer and attaches a zero K-class head', () => {
  const cfg = checkConfig({
    ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 10,
    preLogitsDim: 24,
  });
  const before = initParameters(cfg, { seed: 1 });
  const { config, weights } = withNewHead(cfg, before, 3);
  assert.equal(config.numClasses, 3);
  assert.equal(config.preLogitsDim, 0);
  assert.deepEqual([...weights.keys()].sort(), [...parameterShapes(config).keys()].sort());
  assert.deepEqual(weights.get('head.weight')!.shape, [3, 16]);
  assert.ok((weights.get('head.weight')!.data as Float32Array).every((v) => v === 0));
  assert.equal(weights.get('blocks.0.attn.qkv.weight'), before.get('blocks.0.attn.qkv.weight'), 'the backbone is kept as it is');
});
