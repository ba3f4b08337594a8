// The matrix products' arithmetic counted from a graph: by hand on single ops, against the analytic forward count
// of params.ts on a whole ViT, and on step graphs, where it shows what a frozen part saves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multiplyAdds } from '../../src/graph/flops.ts';
import { Graph } from '../../src/graph/graph.ts';
import { conv2d } from '../../src/ops/conv.ts';
import { add } from '../../src/ops/elementwise.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { checkConfig, defaultConfig, gridSize } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { forwardFlops } from '../../src/model/params.ts';
import { buildStepGraph } from '../../src/model/step-graph.ts';
import { cachedStart, parseTrainSelection, selectionRule } from '../../src/model/trainable.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { fashionMnistRecipe } from '../../src/train/recipe.ts';

test('a MatMul counts M·N·K per batch entry, a Conv each output by C_in × kernel area; other ops nothing', () => {
  const g = new Graph();
  const y = matmul(g.input('a', 'float32', [2, 3, 4]), g.input('b', 'float32', [4, 5])); // 2·3·5 outputs × 4
  add(y, y);
  assert.equal(multiplyAdds(g.nodes), 120);
  conv2d(g.input('x', 'float32', [1, 2, 8, 8]), g.input('w', 'float32', [6, 2, 3, 3]), null); // 6·6·6 outputs × 2·3·3
  assert.equal(multiplyAdds(g.nodes), 120 + 216 * 18);
});

const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config }); // the `npm start` model, 3 blocks
const BATCH = 4;

test("a ViT's inference graph counts what params.ts's analytic forward count says", () => {
  const g = inferenceGraph(config, initParameters(config), ['logits', 'tokens'], { batch: BATCH, kernel: 'plain' });
  assert.equal(multiplyAdds(g.nodes), (BATCH * forwardFlops(config)) / 2);
});

const stepCount = (train: string, cfg = config, cached = false): number => {
  const sel = parseTrainSelection(train);
  const start = cached ? cachedStart(cfg, sel) : undefined;
  const opts = { batch: BATCH, optimizer: { kind: 'adamw' as const }, trainable: selectionRule(cfg, sel), lora: sel.lora, start };
  return multiplyAdds(buildStepGraph(cfg, opts).graph.nodes);
};

test("last:2 on its cache computes a whole 2-block model's step but the patch embedding: each trained block's whole backward", () => {
  const patchEmbedding = BATCH * gridSize(config) ** 2 * config.inChans * config.patchSize ** 2 * config.embedDim;
  const twoBlocks = checkConfig({ ...config, depth: 2 });
  // the embedding's forward and weight gradient; its input gradient is never needed
  assert.equal(stepCount('last:2', config, true), stepCount('all', twoBlocks) - 2 * patchEmbedding);
  const whole = stepCount('all');
  const ratio = whole / stepCount('last:2', config, true);
  assert.ok(ratio > 1.45 && ratio < 1.55, `the whole step is ${ratio}× last:2's`); // README: at most ~1.5× on 3 blocks
  // recomputing the frozen block adds its forward only (the embedding's and block 0's products, no head)
  const head = BATCH * config.embedDim * config.numClasses;
  const oneBlock = checkConfig({ ...config, depth: 1 });
  assert.equal(stepCount('last:2'), stepCount('last:2', config, true) + (BATCH * forwardFlops(oneBlock)) / 2 - head);
  // a rank-8 LoRA skips the frozen weights' gradients, but runs the backward through every block
  assert.ok(stepCount('lora:8') < whole && stepCount('lora:8') > stepCount('last:2', config, true));
});
