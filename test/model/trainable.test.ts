// What trains: parsing `--train`, the trainable predicate, and the built step graph doing only the needed work (no
// backward through a frozen block, no weight gradient of a frozen matrix, no optimizer state for frozen tensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Graph, Value } from '../../src/graph/graph.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { buildStepGraph } from '../../src/model/step-graph.ts';
import { type TrainSelection, formatTrainSelection, parseTrainSelection, selectionRule } from '../../src/model/trainable.ts';
import { trainingShapes } from '../../src/model/lora.ts';

const cfg = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 2, inChans: 1, embedDim: 16, depth: 4, numHeads: 2, mlpDim: 24, numClasses: 3 });

test('--train parses all|head|bias|last:K|lora:R and their combinations; bad parts are one-line errors', () => {
  assert.deepEqual(parseTrainSelection('all'), { all: true });
  assert.deepEqual(parseTrainSelection('head'), {});
  assert.deepEqual(parseTrainSelection('lora:8,head', { alpha: 16, targets: ['qkv'] }), { lora: { alpha: 16, targets: ['qkv'], rank: 8 } });
  assert.deepEqual(parseTrainSelection('bias, last:2'), { bias: true, lastBlocks: 2 });
  for (const s of ['all', 'head', 'bias,head', 'last:2,head', 'lora:4,head', 'lora:4,last:1,bias,head']) {
    assert.equal(formatTrainSelection(parseTrainSelection(s)), s);
  }
  assert.throws(() => parseTrainSelection('lora'), /'lora' needs a positive integer \(e\.g\. lora:8\)/);
  assert.throws(() => parseTrainSelection('last:0'), /needs a positive integer/);
  assert.throws(() => parseTrainSelection('all,bias'), /'all' trains everything already/);
  assert.throws(() => parseTrainSelection('adapters'), /unknown part 'adapters' \(expected all\|head\|bias\|last:K\|lora:R/);
  assert.throws(() => parseTrainSelection('lora:4', { targets: ['mlp' as never] }), /unknown LoRA target 'mlp'/);
});

test('the trainable predicate: the head always, then biases, the last K blocks and the final norm, adapters', () => {
  const names = (sel: TrainSelection) => [...trainingShapes(cfg, sel.lora).keys()].filter(selectionRule(cfg, sel) ?? (() => true));
  assert.equal(selectionRule(cfg, { all: true }), undefined);
  assert.deepEqual(names({}), ['head.weight', 'head.bias']);
  const bias = names({ bias: true });
  assert.ok(bias.every((n) => n.endsWith('.bias') || n === 'head.weight') && bias.includes('blocks.0.attn.qkv.bias'), bias.join());
  const last = names({ lastBlocks: 1 });
  assert.ok(last.includes('blocks.3.mlp.fc2.weight') && last.includes('norm.weight') && !last.some((n) => n.startsWith('blocks.2.')));
  assert.deepEqual(names({ lora: { rank: 2, targets: ['proj'] } }).slice(0, 3), ['head.weight', 'head.bias', 'blocks.0.attn.proj.lora_A']);
  assert.throws(() => selectionRule(cfg, { lastBlocks: 5 }), /last:5: the model has 4 blocks/);
});

/** Values computed from `roots` alone (through views such as a Transpose of a weight), the roots included. */
function derived(g: Graph, roots: ReadonlySet<string>): Set<Value> {
  const out = new Set<Value>(g.inputs.filter((v) => roots.has(v.name)));
  const from = (x: Value | null) => !x || out.has(x) || x.name.startsWith('const');
  for (const n of g.nodes) if (n.inputs.some((x) => x && out.has(x)) && n.inputs.every(from)) n.outputs.forEach((o) => out.add(o));
  return out;
}

const backward = (g: Graph) => g.nodes.filter((n) => n.scope?.startsWith('grad.'));

test('the step graph differentiates only towards trainable tensors: no backward node of a frozen block exists', () => {
  const full = buildStepGraph(cfg, { batch: 2, optimizer: { kind: 'adamw' } });
  const frozenBlocks = (spec: ReturnType<typeof buildStepGraph>, below: number) =>
    new Set(
      [...spec.params.keys()].filter((n) =>
        !/^blocks\.\d+\./.test(n) ? /^(patch_embed|pos_embed|cls_token)/.test(n) : Number(n.split('.')[1]) < below && !n.includes('.lora_'),
      ),
    );
  for (const [sel, below] of [[{ lastBlocks: 1 }, 3], [{ lastBlocks: 2 }, 2], [{}, 4]] as const) {
    const spec = buildStepGraph(cfg, { batch: 2, optimizer: { kind: 'adamw' }, trainable: selectionRule(cfg, sel) });
    const g = spec.graph;
    const weights = derived(g, frozenBlocks(spec, below));
    // Every backward step through a block multiplies by its weights (dx = dy·W) or its LayerNorm scale: none may read them.
    const through = backward(g).filter((n) => n.inputs.some((x) => x && weights.has(x)));
    assert.deepEqual(through.map((n) => `${n.opType} reads ${n.inputs.find((x) => x && weights.has(x))!.name}`), [], formatTrainSelection(sel));
    // Activations below the lowest trainable layer: the backward reads at most the one entering it.
    const trained = new Set(spec.trainable);
    const depends = new Set<Value>(g.inputs.filter((v) => trained.has(v.name)));
    for (const n of g.nodes) if (n.inputs.some((x) => x && depends.has(x))) n.outputs.forEach((o) => depends.add(o));
    const forwardOut = new Set(g.nodes.filter((n) => !n.scope).flatMap((n) => n.outputs));
    const kept = new Set(
      backward(g)
        .flatMap((n) => n.inputs)
        .filter((x): x is Value => !!x && forwardOut.has(x) && !depends.has(x) && !weights.has(x) && x.dtype === 'float32'),
    );
    assert.ok(kept.size <= 1, `${formatTrainSelection(sel)}: the backward keeps ${[...kept].map(String).join(', ')}`);
    const entering = sel.lastBlocks ? [2, 17, 16] : [2, 16]; // the tokens entering the first trained block, or the pooled features
    for (const v of kept) assert.deepEqual(v.shape, entering, 'only the input of the lowest trainable layer');
    // K of 4 blocks: about K/4 of the full backward, plus the head's and the loss's few nodes.
    const [nodes, fullNodes] = [backward(g).length, backward(full.graph).length];
    assert.ok(nodes < (fullNodes * (sel.lastBlocks ?? 0)) / 4 + 30, `${nodes} backward nodes of the full step's ${fullNodes}`);
    const state = g.inputs.filter((v) => v.name.startsWith('m.')).map((v) => v.name.slice(2));
    assert.deepEqual(state, spec.trainable, 'optimizer state for trainable tensors only');
  }
});

test('LoRA step graph: gradients flow through every block, but no frozen weight matrix gets a gradient', () => {
  const lora = { rank: 2, targets: ['qkv', 'proj', 'fc1', 'fc2'] as const };
  const spec = buildStepGraph(cfg, { batch: 2, optimizer: { kind: 'adamw' }, lora, trainable: selectionRule(cfg, { lora }) });
  assert.equal(spec.trainable.length, 2 + 4 * 4 * 2, 'the head and the A, B of 4 layers × 4 blocks');
  const frozenMatrices = ['[48,16]', '[16,16]', '[24,16]', '[16,24]'];
  const weightViews = derived(spec.graph, new Set(spec.params.keys())); // W transposed for dx = dy·W is not a gradient
  const formed = backward(spec.graph)
    .flatMap((n) => n.outputs)
    .filter((o) => !weightViews.has(o) && frozenMatrices.includes(`[${o.shape.join(',')}]`));
  assert.deepEqual(formed.map(String), [], 'no [out, in] weight gradient is formed');
  const grads = spec.graph.outputs.filter((o) => o.name.startsWith('new.m.')).map((o) => o.name);
  assert.ok(grads.includes('new.m.blocks.0.attn.qkv.lora_A'), 'the lowest adapter trains');
});
