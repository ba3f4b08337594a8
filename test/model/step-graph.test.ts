// The training-step graph against PyTorch (../shared/fixtures/train_step): loss, unclipped gradients,
// gradient norm, and parameters after AdamW (three steps) and SGD-momentum (one step) updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Graph, inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { Session } from '../../src/runtime/session.ts';
import { optimizerScalarFeeds } from '../../src/autodiff/optim.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { inferenceGraph, prefixGraph } from '../../src/model/inference-graph.ts';
import { selectionRule } from '../../src/model/trainable.ts';
import { buildApplyGraph, buildEvalGraph, buildGradGraph, buildStepGraph } from '../../src/model/step-graph.ts';
import { PACK_BELOW } from '../../src/model/update-packing.ts';
import { ErrorReport, adamw, clipCoef, clipNorm, delta, get, labelSmoothing, microGray, params, scaled, sgd } from '../train/train-step-fixture.ts';

const TOL = 1e-5;
const names = () => [...params('init.').keys()];
const scalar = (t: Tensor | undefined): number => (t!.data as Float32Array)[0]!;
const f32 = (t: Tensor) => t.data as Float32Array;

test('step graph: inputs, outputs and shapes', () => {
  const spec = buildStepGraph(microGray, { batch: 8, optimizer: adamw, labelSmoothing, clipNorm });
  const inputs = spec.graph.inputs.map((v) => v.name);
  const outputs = spec.graph.outputs.map((v) => v.name);
  const ps = names();
  assert.deepEqual(spec.slots, ['m', 'v']);
  assert.deepEqual(spec.scalars, ['lr', 'bias_correction1', 'bias_correction2']);
  assert.deepEqual(new Set(inputs), new Set(['images', 'labels', ...ps, ...ps.map((n) => `m.${n}`), ...ps.map((n) => `v.${n}`), ...spec.scalars]));
  assert.deepEqual(
    new Set(outputs),
    new Set(['loss', 'correct', 'grad_norm', ...ps.map((n) => `new.${n}`), ...ps.map((n) => `new.m.${n}`), ...ps.map((n) => `new.v.${n}`)]),
  );
  for (const o of spec.graph.outputs) assert.ok(o.shape.every((d) => typeof d === 'number'), `${o} is static`);
  const s2 = buildStepGraph(microGray, { batch: 8, optimizer: sgd, exposeGradients: true });
  assert.deepEqual(s2.slots, ['momentum']);
  assert.ok(s2.graph.outputs.some((v) => v.name === 'grad.head.weight'));
  assert.ok(s2.graph.inputs.some((v) => v.name === 'momentum.blocks.1.mlp.fc2.bias'));
  assert.throws(() => buildStepGraph(microGray, { batch: 0, optimizer: sgd }), /batch must be a positive integer/);
});

// packBelow PACK_BELOW: every tensor of this micro model updated in packs, as on WebGPU (model/update-packing.ts)
for (const packBelow of [0, PACK_BELOW]) {
  test(`AdamW step graph matches PyTorch: loss, grad norm, unclipped gradients, three updates (packBelow ${packBelow})`, async (t) => {
    const spec = buildStepGraph(microGray, { batch: 8, optimizer: adamw, labelSmoothing, clipNorm, exposeGradients: true, packBelow });
    const session = await Session.create(toOnnx(spec.graph), { threads: 2 });
    const state: Record<string, Tensor> = {};
    for (const [n, p] of params('init.')) {
      state[n] = p;
      state[`m.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(p.data.length) };
      state[`v.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(p.data.length) };
    }
    const fwd = new ErrorReport(TOL);
    const grads = new ErrorReport(TOL);
    const after = new ErrorReport(TOL);
    const upd = new ErrorReport(1e-3);
    for (let s = 0; s < 3; s++) {
      const out = await session.run({ ...state, images: get(`x.${s}`), labels: get(`y.${s}`), ...optimizerScalarFeeds(adamw, 1e-3, s + 1) });
      if (s === 0) {
        fwd.check('loss', [scalar(out['loss'])], f32(get('adamw.loss.0')));
        fwd.check('grad_norm', [scalar(out['grad_norm'])], f32(get('adamw.grad_norm.0')));
        const coef = clipCoef(scalar(out['grad_norm']));
        for (const n of names()) grads.check(`grad.${n}`, scaled(f32(out[`grad.${n}`]!), coef), f32(get(`adamw.grad.0.${n}`)));
      }
      const c = scalar(out['correct']);
      assert.ok(Number.isInteger(c) && c >= 0 && c <= 8);
      for (const n of names()) {
        const expected = f32(get(`adamw.after.${s}.${n}`));
        after.checkAdam(`after.${s}.${n}`, n, f32(out[`new.${n}`]!), expected, { lr: 1e-3, steps: s + 1 });
        // The update itself (after − before) to a looser bound: Adam normalises tiny gradients to ~lr steps.
        upd.checkAdam(`update.${s}.${n}`, n, delta(f32(out[`new.${n}`]!), f32(state[n]!)), delta(expected, f32(state[n]!)), {
          lr: 1e-3,
          steps: s + 1,
        });
        state[n] = out[`new.${n}`]!;
        state[`m.${n}`] = out[`new.m.${n}`]!;
        state[`v.${n}`] = out[`new.v.${n}`]!;
      }
    }
    t.diagnostic(`loss/grad_norm ${fwd}; gradients ${grads}; parameters ${after}; updates ${upd}`);
    await session.release();
  });
}

test('SGD-momentum step graph matches PyTorch', async (t) => {
  const spec = buildStepGraph(microGray, { batch: 8, optimizer: sgd, labelSmoothing, clipNorm, exposeGradients: true });
  const session = await Session.create(toOnnx(spec.graph), { threads: 2 });
  const feeds: Record<string, Tensor> = { images: get('x.0'), labels: get('y.0'), ...optimizerScalarFeeds(sgd, 0.01, 1) };
  for (const [n, p] of params('init.')) {
    feeds[n] = p;
    feeds[`momentum.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(p.data.length) };
  }
  const out = await session.run(feeds);
  const r = new ErrorReport(TOL);
  r.check('loss', [scalar(out['loss'])], f32(get('sgd.loss.0')));
  r.check('grad_norm', [scalar(out['grad_norm'])], f32(get('sgd.grad_norm.0')));
  const upd = new ErrorReport(1e-4);
  for (const n of names()) {
    r.check(`grad.${n}`, scaled(f32(out[`grad.${n}`]!), clipCoef(scalar(out['grad_norm']))), f32(get(`sgd.grad.0.${n}`)));
    r.check(`after.${n}`, f32(out[`new.${n}`]!), f32(get(`sgd.after.0.${n}`)));
    upd.check(`update.${n}`, delta(f32(out[`new.${n}`]!), f32(feeds[n]!)), delta(f32(get(`sgd.after.0.${n}`)), f32(feeds[n]!)));
  }
  t.diagnostic(`SGD: ${r}; updates ${upd}`);
  await session.release();
});

test('gradient accumulation (grad graph ×2 + apply graph) equals one fused step on the whole batch', async () => {
  const opts = { optimizer: adamw, labelSmoothing, clipNorm } as const;
  const fused = await Session.create(toOnnx(buildStepGraph(microGray, { ...opts, batch: 8 }).graph), { threads: 2 });
  const grad = await Session.create(toOnnx(buildGradGraph(microGray, { batch: 4, labelSmoothing }).graph), { threads: 2 });
  const apply = await Session.create(toOnnx(buildApplyGraph(microGray, { ...opts, microBatches: 2 }).graph), { threads: 2 });
  const state: Record<string, Tensor> = {};
  const acc: Record<string, Tensor> = {};
  for (const [n, p] of params('init.')) {
    state[n] = p;
    for (const s of ['m', 'v']) state[`${s}.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(p.data.length) };
    acc[`acc.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(p.data.length) };
  }
  const x = get('x.0');
  const y = get('y.0');
  const half = (i: number) => ({
    images: { dtype: 'float32', shape: [4, 1, 28, 28], data: f32(x).subarray(i * 4 * 784, (i + 1) * 4 * 784) } as Tensor,
    labels: { dtype: 'int64', shape: [4], data: (y.data as BigInt64Array).subarray(i * 4, (i + 1) * 4) } as Tensor,
  });
  const scalars = optimizerScalarFeeds(adamw, 1e-3, 1);
  const ref = await fused.run({ ...state, images: x, labels: y, ...scalars });
  let losses = 0;
  let correct = 0;
  let cur = acc;
  for (let i = 0; i < 2; i++) {
    const params: Record<string, Tensor> = {};
    for (const n of names()) params[n] = state[n]!;
    const out = await grad.run({ ...params, ...cur, ...half(i) });
    losses += scalar(out['loss']);
    correct += scalar(out['correct']);
    cur = Object.fromEntries(names().map((n) => [`acc.${n}`, out[`new.acc.${n}`]!]));
  }
  const out = await apply.run({ ...state, ...cur, ...scalars });
  const r = new ErrorReport(1e-5);
  r.check('loss', [losses / 2], [scalar(ref['loss'])]);
  assert.equal(correct, scalar(ref['correct']));
  r.check('grad_norm', [scalar(out['grad_norm'])], [scalar(ref['grad_norm'])]);
  for (const n of names()) {
    r.checkAdam(n, n, f32(out[`new.${n}`]!), f32(ref[`new.${n}`]!), { lr: 1e-3, steps: 1 });
    r.checkAdam(n, n, f32(out[`new.${n}`]!), f32(get(`adamw.after.0.${n}`)), { lr: 1e-3, steps: 1 });
    for (const k of [`m.${n}`, `v.${n}`]) r.check(k, f32(out[`new.${k}`]!), f32(ref[`new.${k}`]!));
  }
  for (const s of [fused, grad, apply]) await s.release();
});

test('eval graph: any batch size, same loss as the step graph', async () => {
  const spec = buildEvalGraph(microGray, { labelSmoothing });
  assert.deepEqual(spec.graph.outputs.map((v) => v.name), ['logits', 'loss', 'correct']);
  const session = await Session.create(toOnnx(spec.graph), { threads: 2 });
  const feeds: Record<string, Tensor> = Object.fromEntries(params('init.'));
  const out = await session.run({ ...feeds, images: get('x.0'), labels: get('y.0') });
  assert.deepEqual(out['logits']!.shape, [8, 10]);
  assert.ok(Math.abs(scalar(out['loss']) - scalar(get('adamw.loss.0'))) < 1e-5 * scalar(get('adamw.loss.0')));
  // Three examples: the batch is symbolic.
  const x3: Tensor = { dtype: 'float32', shape: [3, 1, 28, 28], data: f32(get('x.1')).subarray(0, 3 * 784) };
  const y3: Tensor = { dtype: 'int64', shape: [3], data: (get('y.1').data as BigInt64Array).subarray(0, 3) };
  const out3 = await session.run({ ...feeds, images: x3, labels: y3 });
  assert.deepEqual(out3['logits']!.shape, [3, 10]);
  assert.ok(Number.isFinite(scalar(out3['loss'])));
  await session.release();
});

test('every parameter receives a finite, non-zero gradient (avg pooling, pre-logits head, no qkv bias)', async () => {
  for (const over of [
    { pool: 'avg', classToken: true, preLogitsDim: 6 },
    { pool: 'avg', classToken: false, qkvBias: false },
    { pool: 'token' },
  ] as const) {
    const cfg = checkConfig({
      ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 2, embedDim: 8, depth: 1, numHeads: 2, mlpDim: 16, numClasses: 3, ...over,
    });
    const spec = buildStepGraph(cfg, { batch: 2, optimizer: { kind: 'sgd', momentum: 0 }, exposeGradients: true });
    const session = await Session.create(toOnnx(spec.graph), { threads: 1 });
    const feeds: Record<string, Tensor> = Object.fromEntries(initParameters(cfg, { seed: 1 }));
    // A larger cls_token than timm's 1e-6 so its gradient is clearly non-zero.
    if (feeds['cls_token']) {
      feeds['cls_token'] = { ...feeds['cls_token'], data: Float32Array.from(feeds['cls_token'].data as Float32Array, (v) => v * 1e5) };
    }
    feeds['images'] = { dtype: 'float32', shape: [2, 2, 8, 8], data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)) };
    feeds['labels'] = { dtype: 'int64', shape: [2], data: BigInt64Array.of(0n, 2n) };
    Object.assign(feeds, optimizerScalarFeeds({ kind: 'sgd' }, 0.1, 1));
    const out = await session.run(feeds);
    for (const n of spec.params.keys()) {
      const g = f32(out[`grad.${n}`]!);
      assert.ok(g.every(Number.isFinite), `${JSON.stringify(over)} grad.${n} finite`);
      assert.ok(g.some((v) => v !== 0), `${JSON.stringify(over)} grad.${n} non-zero`);
    }
    await session.release();
  }
});

// TrainSession feeds each parameter and state buffer and has onnxruntime write `new.<name>` into that same buffer.
// That is safe in any order onnxruntime may run the nodes only if every node that reads the buffer (directly, or
// through a view such as Reshape) is an ancestor of the node that writes it. Checked on the graphs as onnxruntime
// receives them (composites inlined), including with clipping off, where nothing but the step graph's ordering
// dependency on the global norm keeps a backward read (dX = dY·W) before W's update.
test('every in-place write runs after every read of its buffer, whatever the order onnxruntime picks', () => {
  const views = new Set(['Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);
  const inPlaceHazards = (g: ReturnType<typeof buildStepGraph>['graph']): string[] => {
    const nodes = inlineComposites(g.nodes);
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o.name, i)));
    const ancestors = (i: number): Set<number> => {
      const seen = new Set<number>();
      const stack = [i];
      while (stack.length) {
        for (const v of nodes[stack.pop()!]!.inputs) {
          const p = v ? producer.get(v.name) : undefined;
          if (p !== undefined && !seen.has(p)) {
            seen.add(p);
            stack.push(p);
          }
        }
      }
      return seen;
    };
    const hazards: string[] = [];
    for (const out of g.outputs.filter((o) => o.name.startsWith('new.'))) {
      const buffer = out.name.slice(4);
      if (!g.inputs.some((v) => v.name === buffer)) continue;
      const writer = producer.get(out.name)!;
      const before = ancestors(writer);
      const aliases = new Set([buffer]);
      nodes.forEach((n, i) => {
        if (!n.inputs.some((v) => v && aliases.has(v.name))) return;
        if (views.has(n.opType)) n.outputs.forEach((o) => aliases.add(o.name)); // its readers read the buffer too
        if (i !== writer && !before.has(i)) hazards.push(`${n.opType} reads ${buffer} unordered with its write`);
      });
    }
    return hazards;
  };
  const head = (n: string) => n.startsWith('head.');
  const hybrid = { ...microGray, inChans: 3, imgSize: 16, patchSize: 1, backbone: { stemChs: 32, layers: [1], channels: [128] } };
  for (const [what, spec] of [
    ['AdamW, clipping off', buildStepGraph(microGray, { batch: 4, optimizer: adamw })],
    ['AdamW + EMA, clipped', buildStepGraph(microGray, { batch: 4, optimizer: adamw, clipNorm, ema: 0.9 })],
    ['AdamW + EMA in packs, clipping off', buildStepGraph(microGray, { batch: 4, optimizer: adamw, ema: 0.9, packBelow: PACK_BELOW })],
    ['SGD-momentum, clipping off', buildStepGraph(microGray, { batch: 4, optimizer: sgd })],
    ['head only', buildStepGraph(microGray, { batch: 4, optimizer: sgd, trainable: head })],
    ['hybrid, clipping off', buildStepGraph(hybrid, { batch: 2, optimizer: adamw })],
    ['grad graph', buildGradGraph(microGray, { batch: 4 })],
    ['apply graph', buildApplyGraph(microGray, { optimizer: adamw, microBatches: 2 })],
    ['apply graph in packs', buildApplyGraph(microGray, { optimizer: sgd, microBatches: 2, packBelow: PACK_BELOW })],
  ] as const) {
    assert.deepEqual(inPlaceHazards(spec.graph), [], what);
  }
});

test('features graph: the head alone on the pooled features makes the image graph’s head step; refuses an encoder', async () => {
  const head = (n: string) => n.startsWith('head.');
  const opts = { batch: 8, optimizer: adamw, labelSmoothing, clipNorm, trainable: head };
  const spec = buildStepGraph(microGray, { ...opts, start: 'features' });
  const ps = ['head.weight', 'head.bias'];
  const state = [...ps, ...ps.map((n) => `m.${n}`), ...ps.map((n) => `v.${n}`)];
  assert.deepEqual(new Set(spec.graph.inputs.map((v) => v.name)), new Set(['features', 'labels', ...state, ...spec.scalars]));
  assert.deepEqual(spec.params, buildStepGraph(microGray, opts).params, 'the session still holds every parameter');
  const weights = params('init.');
  const pooled = await Session.create(toOnnx(inferenceGraph(microGray, weights, ['pooled'], { kernel: 'plain' })), { threads: 2 });
  const features = (await pooled.run({ images: get('x.0') }))['pooled']!;
  await pooled.release();
  const zeros = (n: string): [string, Tensor] => [
    n,
    { dtype: 'float32', shape: weights.get(n.slice(2))!.shape, data: new Float32Array(f32(weights.get(n.slice(2))!).length) },
  ];
  const feeds: Record<string, Tensor> = {
    ...Object.fromEntries(weights),
    ...Object.fromEntries(state.slice(2).map(zeros)),
    labels: get('y.0'),
    ...optimizerScalarFeeds(adamw, 1e-2, 1),
  };
  const run = async (graph: Graph, input: Record<string, Tensor>) => {
    const s = await Session.create(toOnnx(graph), { threads: 2 });
    const out = await s.run({ ...feeds, ...input });
    await s.release();
    return out;
  };
  const a = await run(buildStepGraph(microGray, opts).graph, { images: get('x.0') });
  const b = await run(spec.graph, { features });
  // the same ops on the same pooled values (plain attention, same batch): equal to float32 rounding of the sums
  for (const o of ['loss', 'grad_norm', 'new.head.weight', 'new.head.bias', 'new.m.head.weight']) {
    f32(a[o]!).forEach((v, i) => assert.ok(Math.abs(v - f32(b[o]!)[i]!) <= TOL * Math.max(1, Math.abs(v)), `${o}[${i}]`));
  }
  assert.throws(
    () => buildStepGraph(microGray, { ...opts, start: 'features', trainable: undefined }),
    /trains the head alone, but 'cls_token' is trainable/,
  );
  assert.throws(() => buildStepGraph(microGray, { ...opts, start: 'features', dropout: 0.1 }), /dropout, drop path and LoRA do not apply/);
  const deit = checkConfig({ ...microGray, distToken: true });
  assert.throws(() => buildStepGraph(deit, { ...opts, start: 'features' }), /distillation head/);
  assert.deepEqual(
    buildEvalGraph(microGray, { start: 'features' }).graph.inputs.map((v) => v.name).sort(),
    ['features', 'head.bias', 'head.weight', 'labels'],
  );
});

test('a graph that starts at block k on the tokens entering it makes the image graph’s step for last:K; refuses below', async () => {
  const lastBlock = selectionRule(microGray, { lastBlocks: 1 })!;
  const opts = { batch: 8, optimizer: adamw, labelSmoothing, clipNorm, trainable: lastBlock };
  const spec = buildStepGraph(microGray, { ...opts, start: { block: 1 } });
  const inputs = new Set(spec.graph.inputs.map((v) => v.name));
  assert.ok(inputs.has('tokens') && !inputs.has('images'));
  for (const n of ['pos_embed', 'cls_token', 'patch_embed.proj.weight', 'blocks.0.norm1.weight', 'blocks.0.mlp.fc2.bias']) {
    assert.ok(!inputs.has(n), n);
  }
  for (const n of ['blocks.1.norm1.weight', 'blocks.1.attn.qkv.weight', 'norm.weight', 'head.weight']) assert.ok(inputs.has(n), n);
  assert.deepEqual(spec.trainable, buildStepGraph(microGray, opts).trainable);
  const weights = params('init.');
  const prefix = await Session.create(toOnnx(prefixGraph(microGray, weights, 1, { kernel: 'plain' })), { threads: 2 });
  const tokens = (await prefix.run({ images: get('x.0') }))['tokens']!;
  await prefix.release();
  assert.deepEqual(tokens.shape, [8, 50, 32]);
  const zeros = (n: string): [string, Tensor] => [
    n,
    { dtype: 'float32', shape: weights.get(n.slice(2))!.shape, data: new Float32Array(f32(weights.get(n.slice(2))!).length) },
  ];
  const state = spec.trainable.flatMap((n) => [`m.${n}`, `v.${n}`]);
  const feeds: Record<string, Tensor> = {
    ...Object.fromEntries(weights),
    ...Object.fromEntries(state.map(zeros)),
    labels: get('y.0'),
    ...optimizerScalarFeeds(adamw, 1e-2, 1),
  };
  const run = async (graph: Graph, input: Record<string, Tensor>) => {
    const s = await Session.create(toOnnx(graph), { threads: 2 });
    const known = new Set(s.inputNames);
    const out = await s.run(Object.fromEntries(Object.entries({ ...feeds, ...input }).filter(([n]) => known.has(n))));
    await s.release();
    return out;
  };
  const a = await run(buildStepGraph(microGray, opts).graph, { images: get('x.0') });
  const b = await run(spec.graph, { tokens });
  // the same ops on the same block-1 input (plain attention in both): equal to float32 rounding
  const outs = ['loss', 'correct', 'grad_norm', ...spec.trainable.flatMap((n) => [`new.${n}`, `new.m.${n}`, `new.v.${n}`])];
  for (const o of outs) f32(a[o]!).forEach((v, i) => assert.ok(Math.abs(v - f32(b[o]!)[i]!) <= TOL * Math.max(1, Math.abs(v)), `${o}[${i}]`));
  assert.throws(
    () => buildStepGraph(microGray, { ...opts, start: { block: 1 }, trainable: undefined }),
    /starts at block 1 trains nothing below it, but 'cls_token' is trainable/,
  );
  const lora = { rank: 2 };
  const withLora = (n: string) => lastBlock(n) || n.endsWith('.lora_A') || n.endsWith('.lora_B');
  assert.throws(
    () => buildStepGraph(microGray, { ...opts, trainable: withLora, start: { block: 1 }, lora }),
    /but 'blocks\.0\.attn\.qkv\.lora_A' is trainable/,
  );
  assert.throws(() => buildStepGraph(microGray, { ...opts, start: { block: 3 } }), /the model has blocks 0…1/);
  const atZero = buildStepGraph(microGray, { ...opts, trainable: selectionRule(microGray, { lastBlocks: 2 }), start: { block: 0 } });
  const zeroInputs = atZero.graph.inputs.map((v) => v.name);
  assert.ok(
    zeroInputs.includes('tokens') && zeroInputs.includes('blocks.0.norm1.weight') && !zeroInputs.includes('pos_embed'),
    'block 0: after the embedding',
  );
  const evalInputs = buildEvalGraph(microGray, { start: { block: 1 } }).graph.inputs.map((v) => v.name);
  assert.ok(evalInputs.includes('tokens') && !evalInputs.includes('blocks.0.norm1.weight'));
});
