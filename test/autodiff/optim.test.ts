// Optimizer updates and clipping as graph ops, run by onnxruntime, against float64 re-implementations
// of PyTorch's torch.optim.AdamW / SGD and clip_grad_norm_.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Value } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { Session } from '../../src/runtime/session.ts';
import {
  type OptimizerConfig,
  applyOptimizer,
  clipByGlobalNorm,
  defaultDecay,
  optimizerScalarFeeds,
  optimizerScalarInputs,
  optimizerScalars,
  optimizerSlots,
  resolveOptimizer,
} from '../../src/autodiff/optim.ts';
import { Rng } from '../../src/rng.ts';

const f32 = (shape: number[], data: ArrayLike<number>): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
const randn = (rng: Rng, n: number, std = 1) => Array.from({ length: n }, () => rng.normal(0, std));

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= rtol * Math.max(scale, 1e-12), `${what}[${i}]: ${actual[i]} vs ${expected[i]} (err ${err}, scale ${scale})`);
  }
}

/** A graph updating two parameters (one decayed, one not) from grads fed as inputs. */
async function updateSession(opt: OptimizerConfig, clip = 0) {
  const g = new Graph();
  const shapes: Record<string, number[]> = { w: [3, 4], b: [4] };
  const slots = optimizerSlots(opt);
  const scalars = optimizerScalarInputs(g, opt);
  const names = Object.keys(shapes);
  const params = names.map((n) => g.input(n, 'float32', shapes[n]!));
  const grads = names.map((n) => g.input(`g.${n}`, 'float32', shapes[n]!));
  const clipped = clipByGlobalNorm(grads, clip);
  g.output(clipped.norm, 'grad_norm');
  const res = applyOptimizer(
    opt,
    scalars,
    names.map((n, i) => ({
      name: n,
      param: params[i]!,
      grad: clipped.grads[i]!,
      state: Object.fromEntries(slots.map((s) => [s, g.input(`${s}.${n}`, 'float32', shapes[n]!)])) as Record<string, Value>,
      decay: n === 'w',
    })),
  );
  for (const r of res) {
    g.output(r.param);
    for (const s of slots) g.output(r.state[s]!);
  }
  return { session: await Session.create(toOnnx(g), { threads: 1 }), shapes, slots, names };
}

test('AdamW matches PyTorch single-tensor AdamW over three steps (decay mask, bias correction)', async () => {
  const opt: OptimizerConfig = { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
  const r = resolveOptimizer(opt);
  assert.equal(r.kind, 'adamw');
  const { session, shapes, names } = await updateSession(opt);
  const rng = new Rng(3);
  const p: Record<string, number[]> = {};
  const m: Record<string, number[]> = {};
  const v: Record<string, number[]> = {};
  for (const n of names) {
    const size = shapes[n]!.reduce((a, b) => a * b, 1);
    p[n] = randn(rng, size);
    m[n] = new Array(size).fill(0);
    v[n] = new Array(size).fill(0);
  }
  const feedsState: Record<string, Tensor> = {};
  for (const n of names) {
    feedsState[n] = f32(shapes[n]!, p[n]!);
    feedsState[`m.${n}`] = f32(shapes[n]!, m[n]!);
    feedsState[`v.${n}`] = f32(shapes[n]!, v[n]!);
  }
  const lrs = [1e-3, 3e-3, 2e-3];
  for (let t = 1; t <= 3; t++) {
    const lr = lrs[t - 1]!;
    const grads: Record<string, number[]> = {};
    const feeds: Record<string, Tensor> = { ...feedsState, ...optimizerScalarFeeds(opt, lr, t) };
    for (const n of names) {
      grads[n] = randn(rng, p[n]!.length, 0.1);
      feeds[`g.${n}`] = f32(shapes[n]!, grads[n]!);
    }
    const out = await session.run(feeds);
    // Reference (float64): torch.optim.adamw._single_tensor_adamw.
    for (const n of names) {
      const wd = n === 'w' ? 0.05 : 0;
      const bc1 = 1 - 0.9 ** t;
      const bc2 = 1 - 0.999 ** t;
      for (let i = 0; i < p[n]!.length; i++) {
        const g = grads[n]![i]!;
        let x = p[n]![i]! * (1 - lr * wd);
        m[n]![i] = 0.9 * m[n]![i]! + 0.1 * g;
        v[n]![i] = 0.999 * v[n]![i]! + 0.001 * g * g;
        x -= (lr / bc1) * (m[n]![i]! / (Math.sqrt(v[n]![i]!) / Math.sqrt(bc2) + 1e-8));
        p[n]![i] = x;
      }
      assertClose(out[`new.${n}`]!.data as Float32Array, p[n]!, 1e-6, `step ${t} ${n}`);
      assertClose(out[`new.m.${n}`]!.data as Float32Array, m[n]!, 1e-6, `step ${t} m.${n}`);
      assertClose(out[`new.v.${n}`]!.data as Float32Array, v[n]!, 1e-5, `step ${t} v.${n}`);
      feedsState[n] = out[`new.${n}`]!;
      feedsState[`m.${n}`] = out[`new.m.${n}`]!;
      feedsState[`v.${n}`] = out[`new.v.${n}`]!;
    }
  }
  await session.release();
});

test('SGD with momentum (and Nesterov, weight decay) matches PyTorch; zero buffers reproduce buf = g at step 1', async () => {
  for (const nesterov of [false, true]) {
    const opt: OptimizerConfig = { kind: 'sgd', momentum: 0.9, nesterov, weightDecay: 1e-2 };
    const { session, shapes, names } = await updateSession(opt);
    const rng = new Rng(7);
    const p: Record<string, number[]> = {};
    const buf: Record<string, number[] | null> = {};
    const state: Record<string, Tensor> = {};
    for (const n of names) {
      const size = shapes[n]!.reduce((a, b) => a * b, 1);
      p[n] = randn(rng, size);
      buf[n] = null;
      state[n] = f32(shapes[n]!, p[n]!);
      state[`momentum.${n}`] = f32(shapes[n]!, new Array(size).fill(0));
    }
    for (let t = 1; t <= 2; t++) {
      const feeds: Record<string, Tensor> = { ...state, ...optimizerScalarFeeds(opt, 0.05, t) };
      const grads: Record<string, number[]> = {};
      for (const n of names) {
        grads[n] = randn(rng, p[n]!.length, 0.1);
        feeds[`g.${n}`] = f32(shapes[n]!, grads[n]!);
      }
      const out = await session.run(feeds);
      for (const n of names) {
        // torch.optim.sgd._single_tensor_sgd: buf is a clone of the (decayed) gradient at the first step.
        const wd = n === 'w' ? 1e-2 : 0;
        const d = grads[n]!.map((g, i) => g + wd * p[n]![i]!);
        buf[n] = buf[n] ? buf[n]!.map((b, i) => 0.9 * b + d[i]!) : d.slice();
        const dir = nesterov ? d.map((x, i) => x + 0.9 * buf[n]![i]!) : buf[n]!;
        p[n] = p[n]!.map((x, i) => x - 0.05 * dir[i]!);
        assertClose(out[`new.${n}`]!.data as Float32Array, p[n]!, 1e-6, `nesterov=${nesterov} step ${t} ${n}`);
        assertClose(out[`new.momentum.${n}`]!.data as Float32Array, buf[n]!, 1e-6, `buf ${n}`);
        state[n] = out[`new.${n}`]!;
        state[`momentum.${n}`] = out[`new.momentum.${n}`]!;
      }
    }
    await session.release();
  }
});

test('plain SGD (momentum 0) has no state', () => {
  assert.deepEqual(optimizerSlots({ kind: 'sgd', momentum: 0 }), []);
  assert.deepEqual(optimizerSlots({ kind: 'sgd' }), ['momentum']);
  assert.deepEqual(optimizerSlots({ kind: 'adamw' }), ['m', 'v']);
  assert.throws(() => resolveOptimizer({ kind: 'sgd', momentum: 0, nesterov: true }), /nesterov/);
  assert.throws(() => resolveOptimizer({ kind: 'adam' } as unknown as OptimizerConfig), /unknown optimizer 'adam' \(expected adamw\|sgd\)/);
});

test('global-norm clipping as clip_grad_norm_: coefficient min(1, max/(norm+1e-6)), unclipped norm output', async () => {
  const opt: OptimizerConfig = { kind: 'sgd', momentum: 0 };
  for (const [maxNorm, scale] of [[1.0, 1], [1.0, 0.01], [0, 1]] as const) {
    const { session, shapes, names } = await updateSession(opt, maxNorm);
    const rng = new Rng(11);
    const feeds: Record<string, Tensor> = optimizerScalarFeeds(opt, 1, 1);
    const grads: Record<string, number[]> = {};
    let sq = 0;
    for (const n of names) {
      const size = shapes[n]!.reduce((a, b) => a * b, 1);
      feeds[n] = f32(shapes[n]!, new Array(size).fill(0));
      grads[n] = randn(rng, size, scale);
      for (const x of grads[n]!) sq += x * x;
      feeds[`g.${n}`] = f32(shapes[n]!, grads[n]!);
    }
    const norm = Math.sqrt(sq);
    const out = await session.run(feeds);
    assertClose(out['grad_norm']!.data as Float32Array, [norm], 1e-6, 'norm');
    const coef = maxNorm === 0 ? 1 : Math.min(1, maxNorm / (norm + 1e-6));
    // With lr 1 and zero params, new.<p> = −coef·g.
    for (const n of names) assertClose(out[`new.${n}`]!.data as Float32Array, grads[n]!.map((x) => -coef * x), 1e-6, `clipped ${n}`);
    await session.release();
  }
  assert.throws(() => clipByGlobalNorm([], 1), /no tensors/);
});

test('scalars: lr and AdamW bias corrections from the 1-based step', () => {
  const s = optimizerScalars({ kind: 'adamw', beta1: 0.9, beta2: 0.999 }, 0.01, 2);
  assert.equal(s['lr'], 0.01);
  assert.ok(Math.abs(s['bias_correction1']! - (1 - 0.81)) < 1e-15);
  assert.ok(Math.abs(s['bias_correction2']! - (1 - 0.999 ** 2)) < 1e-15);
  assert.deepEqual(Object.keys(optimizerScalars({ kind: 'sgd' }, 0.1, 1)), ['lr']);
  assert.throws(() => optimizerScalars({ kind: 'sgd' }, 0.1, 0), /≥ 1/);
});

test('default decay mask: no decay on biases, LayerNorm weights, pos_embed, cls_token', () => {
  const decayed = ['patch_embed.proj.weight', 'blocks.0.attn.qkv.weight', 'blocks.3.mlp.fc2.weight', 'head.weight', 'pre_logits.fc.weight'];
  const kept = [
    'cls_token', 'pos_embed', 'patch_embed.proj.bias', 'blocks.0.norm1.weight', 'blocks.0.norm2.bias', 'norm.weight',
    'fc_norm.weight', 'head.bias',
  ];
  for (const n of decayed) assert.equal(defaultDecay(n), true, n);
  for (const n of kept) assert.equal(defaultDecay(n), false, n);
});
