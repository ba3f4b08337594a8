// The reverse sweep (src/autodiff/grad.ts) and the rule registry: accumulation, skipped branches, zeros for
// unreached values, error messages, rule coverage of every ViT preset's training graph, and an end-to-end
// finite-difference check of a micro ViT's loss with respect to every parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Dim, Graph, type Value } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { softmaxCrossEntropy } from '../../src/autodiff/loss.ts';
import { type ViTConfig, presets } from '../../src/model/config.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { buildViT, inputParams } from '../../src/model/vit.ts';
import { add, mul, sub, tanh } from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { gradRule, hasGradRule, registerGrad, registeredOps } from '../../src/ops/registry.ts';
import { type FdArg, fdCheck, randn, session } from '../ops/fd-check.ts';

const f64 = (shape: number[], data: number[]) => ({ dtype: 'float64' as const, shape, data: Float64Array.from(data) });
const unary = (op: string, x: Value): Value => x.graph.node(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0]!;

test('gradients: accumulation over fan-out, named results, zeros for a value the loss does not use', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const w = g.input('blocks.0.w', 'float64', [3]);
  const unused = g.input('unused', 'float64', [2, 2]);
  const loss = reduceSum(add(mul(x, x), mul(x, w)), 'all'); // Σ x² + x·w
  const [dx, dw, du] = gradients(loss, [x, w, unused]);
  assert.deepEqual([dx!.name, dw!.name, du!.name], ['grad.x', 'grad.blocks.0.w', 'grad.unused']);
  [dx, dw, du].forEach((d) => g.output(d!));
  const out = await (await session(g)).run({
    x: f64([3], [1, 2, 3]),
    w: f64([3], [4, 5, 6]),
    'blocks.0.w': f64([3], [4, 5, 6]),
    unused: f64([2, 2], [1, 1, 1, 1]),
  });
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), [6, 9, 12]);
  assert.deepEqual(Array.from(out['grad.blocks.0.w']!.data as Float64Array), [1, 2, 3]);
  assert.deepEqual(Array.from(out['grad.unused']!.data as Float64Array), [0, 0, 0, 0]);
});

test('gradients: branches that do not reach the loss, or do not depend on wrt, are never visited', () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const c = g.input('c', 'float64', [3]);
  unary('HardSigmoid', x); // a side branch without a rule, not on the loss path
  const loss = reduceSum(mul(x, unary('HardSigmoid', c)), 'all'); // on the path but independent of x
  const [dx] = gradients(loss, [x]);
  assert.deepEqual(dx!.shape, [3]);
  assert.throws(() => gradients(reduceSum(unary('HardSigmoid', x), 'all'), [x]), /no gradient rule for op 'HardSigmoid' \(add one in src\/ops\//);
});

test('gradients: only the needed input gradients are built (no dead backward nodes)', () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  const y = g.input('y', 'float64', [3]);
  const loss = reduceSum(mul(x, y), 'all');
  const before = g.nodes.length;
  gradients(loss, [x]);
  const added = g.nodes.slice(before).map((n) => n.opType);
  assert.equal(added.filter((o) => o === 'Mul').length, 1, `backward nodes: ${added.join(', ')}`);
});

test('gradients: non-scalar loss needs a seed; the seed weights the outputs', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2]);
  const y = mul(x, 3);
  assert.throws(() => gradients(y, [x]), /not a scalar/);
  const seed = g.input('seed', 'float64', [2]);
  const [dx] = gradients(y, [x], seed);
  g.output(dx!);
  const out = await (await session(g)).run({ x: f64([2], [1, 1]), seed: f64([2], [1, -2]) });
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), [3, -6]);
  assert.throws(() => gradients(y, [g.input('i', 'int64', [2])]), /non-float/);
});

test('registry: duplicates throw; the sweep names the op when a rule returns a bad gradient', () => {
  assert.throws(() => registerGrad({ opType: 'Add', vjp: () => [] }), /duplicate gradient rule for op 'Add'/);
  registerGrad({ opType: 'Sin', vjp: (node) => [reduceSum(node.inputs[0]!, 'all')] }); // wrong shape
  registerGrad({ opType: 'Selu', vjp: () => [] }); // wrong count
  const g = new Graph();
  const x = g.input('x', 'float64', [3]);
  assert.throws(
    () => gradients(reduceSum(unary('Sin', x), 'all'), [x]),
    /gradient rule for Sin .*gradient of input 0 is float64\[\], expected x: float64\[3\]/,
  );
  assert.throws(() => gradients(reduceSum(unary('Selu', x), 'all'), [x]), /gradient rule for Selu .*returned 0 gradients for 1 inputs/);
  assert.equal(gradRule({ opType: 'Add', domain: '' }).opType, 'Add');
});

test('the finite-difference harness rejects a wrong rule (Cos with the wrong sign)', async () => {
  registerGrad({ opType: 'Cos', vjp: (node, dys) => [mul(dys[0]!, unary('Sin', node.inputs[0]!))] }); // should be −sin
  await assert.rejects(fdCheck([{ shape: [4] }], (x) => unary('Cos', x)), /gradient of x0: relative error/);
  await assert.rejects(fdCheck([{ shape: [4] }], (x) => sub(x, x)), /identically zero/);
});

function trainingGraph(cfg: ViTConfig, batch: Dim): Graph {
  const g = new Graph();
  const v = buildViT(cfg, g.input('images', 'float32', [batch, cfg.inChans, cfg.imgSize, cfg.imgSize]), { params: inputParams(g) });
  const ce = softmaxCrossEntropy(v.logits!, g.input('labels', 'int64', [batch]), { labelSmoothing: 0.1 });
  gradients(ce.loss, g.inputs.filter((i) => i.name !== 'images' && i.name !== 'labels'));
  return g;
}

test('every op in the training graph of every ViT preset, hybrids included (and variants), has exactly one rule', () => {
  const ops = new Set<string>();
  for (const [name, base] of Object.entries(presets)) {
    const cfg = { ...base, numClasses: base.numClasses || 1000 };
    const variants: ViTConfig[] = name.includes('tiny_patch16_224')
      ? [cfg, { ...cfg, pool: 'avg', preLogitsDim: 64 }, { ...cfg, pool: 'avg', classToken: false, qkvBias: false }]
      : [cfg];
    for (const v of variants) {
      for (const batch of name.includes('tiny_patch16_224') || name === 'vit_hybrid_cifar' ? [1, 'batch'] : [1]) {
        // gradients() runs every rule on the real shapes and asserts their results; building is cheap.
        for (const n of trainingGraph(v, batch).nodes) ops.add(n.domain ? `${n.domain}::${n.opType}` : n.opType);
      }
    }
  }
  for (const op of ops) {
    const [domain, opType] = op.includes('::') ? op.split('::') : ['', op];
    assert.ok(hasGradRule(opType!, domain), `no rule for '${op}'`);
  }
  const all = registeredOps();
  assert.equal(new Set(all).size, all.length);
  const hybrid = ['Conv', 'ConvTranspose', 'MaxPool', 'ScatterElements', 'Relu'];
  for (const op of [
    'MatMul', 'vitkit::Attention', 'vitkit::Gelu', 'LayerNormalization', 'vitkit::LogSoftmax', 'Gather', 'Expand',
    'Shape', 'Tanh', 'Slice', 'ReduceMean', ...hybrid,
  ]) {
    assert.ok(ops.has(op), `expected ${op} in a ViT training graph`);
  }
});

const micro: ViTConfig = {
  imgSize: 8, patchSize: 4, inChans: 2, embedDim: 8, depth: 2, numHeads: 2, mlpDim: 12, numClasses: 3,
  classToken: true, pool: 'token', layerNormEps: 1e-6, qkvBias: true, preLogitsDim: 0,
};

test('micro ViT in float32: every parameter gets a finite, non-zero gradient', async () => {
  const g = new Graph();
  const v = buildViT(micro, g.input('images', 'float32', [2, 2, 8, 8]), { params: inputParams(g) });
  const ce = softmaxCrossEntropy(v.logits!, g.input('labels', 'int64', [2]));
  const params = g.inputs.filter((i) => i.name !== 'images' && i.name !== 'labels');
  assert.equal(params.length, parameterShapes(micro).size);
  gradients(ce.loss, params).forEach((d) => g.output(d));
  const feeds: Record<string, import('../../src/graph/tensor.ts').Tensor> = {
    images: { dtype: 'float32', shape: [2, 2, 8, 8], data: Float32Array.from(randn([2, 2, 8, 8], 1)) },
    labels: { dtype: 'int64', shape: [2], data: BigInt64Array.of(0n, 2n) },
  };
  params.forEach((p, i) => (feeds[p.name] = { dtype: 'float32', shape: p.dims, data: Float32Array.from(randn(p.dims, 10 + i), (x) => 0.3 * x) }));
  const out = await (await session(g)).run(feeds);
  for (const p of params) {
    const d = out[`grad.${p.name}`]!.data as Float32Array;
    assert.ok(d.every(Number.isFinite) && d.some((x) => x !== 0), `gradient of ${p.name}`);
  }
});

/** Finite differences of the micro ViT's cross-entropy, in float64, with respect to images and every parameter. */
async function checkViT(cfg: ViTConfig, batch: number, symbolic: boolean): Promise<void> {
  const shapes = [...parameterShapes(cfg)];
  const imgShape = [batch, cfg.inChans, cfg.imgSize, cfg.imgSize];
  const args: FdArg[] = [
    { name: 'images', shape: imgShape, graphShape: symbolic ? ['batch', ...imgShape.slice(1)] : imgShape },
    { name: 'labels', shape: [batch], graphShape: [symbolic ? 'batch' : batch], dtype: 'int64', data: [1, 2, 0].slice(0, batch) },
    ...shapes.map(([name, shape], i): FdArg => ({ name, shape, data: Array.from(randn(shape, 50 + i), (x) => 0.4 * x) })),
  ];
  await fdCheck(args, (images, labels, ...ps) => {
    const byName = new Map(shapes.map(([n], i) => [n, ps[i]!]));
    const v = buildViT(cfg, images, { params: (n) => byName.get(n)! });
    return softmaxCrossEntropy(v.logits!, labels!, { labelSmoothing: 0.1 }).loss;
  }, { maxCoords: 3 });
}

test('micro ViT in float64: loss gradients match finite differences for every parameter', async () => {
  await checkViT(micro, 2, false);
});

test('micro ViT variants: avg pooling + pre-logits tanh head, and a symbolic batch', async () => {
  await checkViT({ ...micro, depth: 1, pool: 'avg', preLogitsDim: 5, qkvBias: false }, 2, false);
  await checkViT({ ...micro, depth: 1 }, 3, true);
});

test('the tanh helper is differentiable inside a custom graph (sanity for imports)', async () => {
  await fdCheck([{ shape: [2] }], (x) => tanh(x));
});
