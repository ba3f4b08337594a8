// TrainSession: PyTorch parity through the buffers updated in place, exact resume from state(), gradient
// accumulation, evaluation, and no per-step reallocation of parameter buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateDict } from '../../src/graph/tensor.ts';
import { STEP_KEY, TrainSession } from '../../src/runtime/train-session.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import type { Engine } from '../../src/runtime/engine.ts';
import { initParameters } from '../../src/model/init.ts';
import { ErrorReport, adamw, clipCoef, clipNorm, get, labelSmoothing, microGray, params, scaled, sgd } from '../train/train-step-fixture.ts';

const x = (i: number) => get(`x.${i}`).data as Float32Array;
const y = (i: number) => get(`y.${i}`).data as BigInt64Array;
const common = { engine: nodeEngine, batch: 8, labelSmoothing, clipNorm, threads: 2 } as const;

test('TrainSession AdamW: three steps match PyTorch; state() holds params, moments and the step', async (t) => {
  const s = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: adamw });
  const r = new ErrorReport(1e-5);
  for (let i = 0; i < 3; i++) {
    const res = await s.step(x(i), y(i), 1e-3);
    if (i === 0) {
      r.check('loss', [res.loss], get('adamw.loss.0').data as Float32Array);
      r.check('grad_norm', [res.gradNorm], get('adamw.grad_norm.0').data as Float32Array);
    }
    assert.ok(Number.isInteger(res.correct) && res.correct <= 8);
    for (const [n, p] of s.parameters()) {
      r.checkAdam(`after.${i}.${n}`, n, p.data as Float32Array, get(`adamw.after.${i}.${n}`).data as Float32Array, { lr: 1e-3, steps: i + 1 });
    }
  }
  t.diagnostic(`TrainSession AdamW ${r}`);
  assert.equal(s.stepCount, 3);
  const st = s.state();
  assert.equal(st.get(STEP_KEY)!.data[0], 3n);
  assert.ok(st.has('m.blocks.0.attn.qkv.weight') && st.has('v.head.bias') && st.has('pos_embed'));
  await s.release();
});

test('TrainSession SGD-momentum: one step matches PyTorch', async () => {
  const s = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: sgd });
  const res = await s.step(x(0), y(0), 0.01);
  const r = new ErrorReport(1e-5);
  r.check('loss', [res.loss], get('sgd.loss.0').data as Float32Array);
  for (const [n, p] of s.parameters()) r.check(n, p.data as Float32Array, get(`sgd.after.0.${n}`).data as Float32Array);
  assert.ok(s.state().has('momentum.head.weight'));
  await s.release();
});

test('TrainSession: resume from state() continues bit-for-bit; buffers are updated in place, never reallocated', async () => {
  const a = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: adamw });
  const buffers = () => {
    const cur = (a as unknown as { cur: { data: Map<string, Float32Array> } }).cur.data;
    return [...cur.values()];
  };
  const seen = new Set<Float32Array>(buffers());
  const before = buffers().map((b) => b.slice());
  for (let i = 0; i < 3; i++) {
    await a.step(x(i), y(i), 1e-3);
    for (const b of buffers()) seen.add(b);
  }
  assert.equal(seen.size, buffers().length, 'one buffer set, written in place');
  assert.ok(buffers().every((b, i) => b.some((v, j) => v !== before[i]![j])), 'every parameter and moment changed');

  const b = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: adamw });
  await b.step(x(0), y(0), 1e-3);
  const saved: StateDict = b.state();
  await b.release();
  const c = await TrainSession.create(microGray, initParameters(microGray, { seed: 9 }), { ...common, optimizer: adamw });
  c.load(saved);
  assert.equal(c.stepCount, 1);
  await c.step(x(1), y(1), 1e-3);
  await c.step(x(2), y(2), 1e-3);
  const sa = a.state();
  for (const [n, t] of c.state()) assert.deepEqual(t.data, sa.get(n)!.data, n);

  // Partial optimizer state is refused; parameters alone start a fresh optimizer.
  const partial = new Map(saved);
  partial.delete('m.head.bias');
  assert.throws(() => c.load(partial), /optimizer state is incomplete: missing m\.head\.bias/);
  c.load(params('init.'));
  assert.equal(c.stepCount, 0);
  assert.ok((c.state().get('v.head.weight')!.data as Float32Array).every((v) => v === 0));
  const bad = new Map(params('init.'));
  bad.set('head.bias', { dtype: 'float32', shape: [11], data: new Float32Array(11) });
  assert.throws(() => c.load(bad), /'head.bias' has shape \[11\], expected \[10\]/);
  await assert.rejects(c.step(x(0), y(0).map((v) => v + 10n), 1e-3), /at index 0 is out of range \[0, 10\)/);
  await a.release();
  await c.release();
});

test('TrainSession gradAccum 2 matches gradAccum 1 on the same batch', async () => {
  const one = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: adamw });
  const two = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: adamw, gradAccum: 2 });
  const r = new ErrorReport(1e-5);
  for (let i = 0; i < 2; i++) {
    const a = await one.step(x(i), y(i), 1e-3);
    const b = await two.step(x(i), y(i), 1e-3);
    r.check('loss', [b.loss], [a.loss]);
    r.check('grad_norm', [b.gradNorm], [a.gradNorm]);
    assert.equal(b.correct, a.correct);
  }
  const sa = one.state();
  for (const [n, t] of two.state()) {
    if (n !== STEP_KEY) r.checkAdam(n, n.replace(/^[mv]\./, ''), t.data as Float32Array, sa.get(n)!.data as Float32Array, { lr: 1e-3, steps: 2 });
  }
  await one.release();
  await two.release();
});

test('TrainSession.evaluate uses the current parameters and takes any batch size', async () => {
  const s = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: sgd, exposeGradients: true });
  const before = await s.evaluate(x(0), y(0));
  assert.ok(Math.abs(before.loss - (get('sgd.loss.0').data as Float32Array)[0]!) < 1e-5);
  assert.deepEqual(before.logits.shape, [8, 10]);
  const res = await s.step(x(0), y(0), 0.01);
  // Same parameters, same loss, to float32 rounding: onnxruntime fuses the eval graph's residual Add + LayerNorm into
  // SkipLayerNormalization, which it cannot do in the step graph, whose LayerNorms also output their statistics.
  assert.ok(Math.abs(res.loss - before.loss) <= 1e-6 * before.loss, `${res.loss} vs ${before.loss}`);
  const g = s.lastGradients();
  const r = new ErrorReport(1e-5);
  for (const [n, t] of g) r.check(n, scaled(t.data as Float32Array, clipCoef(res.gradNorm)), get(`sgd.grad.0.${n}`).data as Float32Array);
  const after = await s.evaluate(x(0), y(0));
  assert.notEqual(after.loss, before.loss);
  const three = await s.evaluate(x(1).subarray(0, 3 * 784), y(1).subarray(0, 3));
  assert.deepEqual(three.logits.shape, [3, 10]);
  await s.release();
});

test('TrainSession refuses overlapping calls and bad arguments', async () => {
  const s = await TrainSession.create(microGray, params('init.'), { ...common, optimizer: sgd });
  const first = s.step(x(0), y(0), 0.01);
  await assert.rejects(s.step(x(1), y(1), 0.01), /busy/);
  await first;
  await assert.rejects(s.step(x(1), y(1), Number.NaN), /learning rate/);
  await assert.rejects(s.step(x(1).subarray(0, 10), y(1), 0.01), /images have 10 values, expected \[8, 1, 28, 28\]/);
  await assert.rejects(TrainSession.create(microGray, params('init.'), { ...common, optimizer: sgd, gradAccum: 3 }), /multiple of gradAccum 3/);
  assert.equal(s.stepCount, 1);
  await s.release();
});

// The updates write the weights in place, so a step that fails inside onnxruntime (e.g. out of memory) may leave them
// partly updated: the session then refuses every use but load() instead of training on from a mix.
test('TrainSession: after a step fails inside the engine, only load() makes the session usable again', async () => {
  let failing = false;
  const engine: Engine = {
    ...nodeEngine,
    createSession: async (model, opts) => {
      const s = await nodeEngine.createSession(model, opts);
      return new Proxy(s, {
        get: (target, key) => {
          if (key === 'run' && failing) return () => Promise.reject(new Error('simulated failure'));
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
  };
  const s = await TrainSession.create(microGray, params('init.'), { ...common, engine, optimizer: adamw });
  await s.step(x(0), y(0), 1e-3);
  const saved = s.state();
  failing = true;
  await assert.rejects(s.step(x(1), y(1), 1e-3), /simulated failure/);
  failing = false;
  const refused = /a training step failed inside onnxruntime \(simulated failure\).*load\(\) a checkpoint/;
  await assert.rejects(s.step(x(1), y(1), 1e-3), refused);
  await assert.rejects(s.evaluate(x(1), y(1)), refused);
  assert.throws(() => s.state(), refused);
  s.load(saved);
  assert.equal(s.stepCount, 1);
  await s.step(x(1), y(1), 1e-3);
  assert.equal(s.stepCount, 2);
  await s.release();
});
