// TrainSession on WebGPU against the CPU (SwiftShader stands in for a GPU: test/webgpu.ts): every node of
// every training graph placed on the GPU, and three steps whose losses, gradient norms, parameters and optimizer
// moments equal the CPU's within stated tolerances, with the state kept in GPU memory across steps.
//
// Why the results differ at all: the two devices add in different orders (WebGPU reduces in workgroup trees, the
// CPU's MLAS in blocked sequential sums), so every sum carries float32 rounding of a few ulps times log₂ of its
// length. Measured on SwiftShader: losses and gradient norms within 2.2e-7 relative; parameters, moments and EMA
// within 1.3e-6 of their tensor's largest element (outside the noise elements below). The tolerances leave a margin
// of 5–8× for other GPUs' summation orders and still catch a missed weight decay (5e-5 per step) or a stale tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { needsWebGpu } from '../webgpu.ts';
import { Graph, attr } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { StateDict } from '../../src/graph/tensor.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { buildApplyGraph, buildCopyGraph, buildEvalGraph, buildGradGraph, buildStepGraph } from '../../src/model/step-graph.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { ortSessionOptions } from '../../src/runtime/session.ts';
import { type StepResult, TrainSession, type TrainSessionOptions } from '../../src/runtime/train-session.ts';
import { relErr } from '../train/train-step-fixture.ts';

const cfg = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 3 });
const B = 4;
const rng = new Rng(5);
const images = Float32Array.from({ length: B * 64 }, () => rng.normal());
const labels = BigInt64Array.from([0n, 1n, 2n, 1n]);
/** Initial weights with every parameter perturbed (a zero head or unit LayerNorm would hide errors). */
const init: StateDict = new Map(
  [...initParameters(cfg, { seed: 2 })].map(([n, t]) => [
    n,
    { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v + 0.05 * rng.normal()) },
  ]),
);

/** Loss and gradient norm: one reduction each over a few hundred terms; measured within 2.2e-7. */
const SCALAR_TOL = 1e-6;
/** Parameters, moments and EMA, relative to their tensor's largest element; measured within 1.3e-6 (see the header). */
const TENSOR_TOL = 1e-5;
/**
 * AdamW divides by √v̂ + ε, so an element whose gradient is rounding noise (|g| < 1e-6 on the CPU's first step: the
 * key third of qkv.bias has an exactly zero gradient, since softmax ignores a shift shared by a row of scores) moves
 * by up to ±lr on either device, in directions set by the noise. Those elements (here 32 of 2,675) are held to
 * |Δ| ≤ lr per step; all others to TENSOR_TOL.
 */
const NOISE_GRAD = 1e-6;

const adamw = { kind: 'adamw', weightDecay: 0.05 } as const;
const common = { engine: nodeEngine, batch: B, labelSmoothing: 0.1, clipNorm: 1, threads: 2 } as const;

/** Every node must run on WebGPU: onnxruntime refuses to create the session when one would fall back to the CPU. */
const noCpuFallback = { ...ortSessionOptions({ device: 'webgpu' }), extra: { session: { disable_cpu_ep_fallback: '1' } } };

test('every node of every training graph is placed on WebGPU (none falls back to the CPU)', needsWebGpu, async () => {
  const graphs: [string, Graph][] = [
    [
      'AdamW step, label smoothing, EMA, dropout, drop path',
      buildStepGraph(cfg, { ...common, optimizer: adamw, ema: 0.99, dropout: 0.1, dropPath: 0.1 }).graph,
    ],
    ['SGD step, soft targets', buildStepGraph(cfg, { batch: B, optimizer: { kind: 'sgd', momentum: 0.9 }, softTargets: true }).graph],
    ['frozen backbone', buildStepGraph(cfg, { batch: B, optimizer: adamw, trainable: (n) => n.startsWith('head.') }).graph],
    ['accumulation: grad graph', buildGradGraph(cfg, { batch: 2, labelSmoothing: 0.1 }).graph],
    ['accumulation: apply graph', buildApplyGraph(cfg, { optimizer: adamw, clipNorm: 1, microBatches: 2, ema: 0.99 }).graph],
    // With a symbolic batch (evaluate() without evalBatch) onnxruntime pins one shape computation to the CPU: the
    // Concat of the class token's Expand shape, 3 int64s; no activation crosses devices. Static, it has none.
    ['evaluation', buildEvalGraph(cfg, { batch: B }).graph],
    ['state copies', buildCopyGraph(parameterShapes(cfg))],
  ];
  for (const [what, g] of graphs) {
    await assert.doesNotReject(async () => (await ort.InferenceSession.create(toOnnx(g), noCpuFallback)).release(), what);
  }
  // the check itself: ONNX's LogSoftmax (which the loss no longer uses) has no WebGPU kernel and is refused
  const g = new Graph('onnx_log_softmax');
  g.output(g.node('LogSoftmax', [g.input('x', 'float32', [2, 3])], [{ dtype: 'float32', shape: [2, 3], name: 'y' }], { axis: attr.int(1) })[0]!);
  await assert.rejects(ort.InferenceSession.create(toOnnx(g), noCpuFallback), /fallback to CPU EP has been explicitly disabled/);
});

/** Runs `steps` steps on both devices; after each, compares the results and the whole state (downloaded). */
async function compare(
  opts: Omit<TrainSessionOptions, 'engine' | 'batch'>,
  steps: number,
  lr: number,
): Promise<{ cpu: TrainSession; gpu: TrainSession; worst: string }> {
  const worst = { scalar: 0, tensor: 0, name: '' };
  const cpu = await TrainSession.create(cfg, init, { ...common, ...opts, exposeGradients: opts.gradAccum === undefined });
  const gpu = await TrainSession.create(cfg, init, { ...common, ...opts, device: 'webgpu' });
  let noise: Map<string, Uint8Array> | null = null;
  for (let i = 1; i <= steps; i++) {
    const [a, b]: StepResult[] = [await cpu.step(images, labels, lr), await gpu.step(images, labels, lr)];
    assert.equal(b.correct, a.correct, `step ${i}: correct`);
    for (const k of ['loss', 'gradNorm'] as const) {
      const e = Math.abs(b[k] - a[k]) / Math.abs(a[k]);
      worst.scalar = Math.max(worst.scalar, e);
      assert.ok(e <= SCALAR_TOL, `step ${i} ${k}: ${b[k]} vs ${a[k]}`);
    }
    noise ??= new Map(
      opts.gradAccum
        ? []
        : [...cpu.lastGradients()].map(([n, g]) => [n, Uint8Array.from(g.data as Float32Array, (v) => (Math.abs(v) < NOISE_GRAD ? 1 : 0))]),
    );
    assert.throws(() => gpu.state(), /in GPU memory since the last step: await download\(\)/);
    await gpu.download();
    const [sa, sb] = [cpu.state(), gpu.state()];
    assert.deepEqual([...sb.keys()], [...sa.keys()]);
    for (const [name, t] of sa) {
      if (t.dtype === 'int64') {
        assert.deepEqual(sb.get(name)!.data, t.data);
        continue;
      }
      const [x, y] = [sb.get(name)!.data as Float32Array, t.data as Float32Array];
      // a parameter or its EMA (not a moment: those of noise elements are themselves negligible)
      const mask = opts.optimizer.kind === 'adamw' && !/^(m|v)\./.test(name) ? noise.get(name.replace(/^ema\./, '')) : undefined;
      const keep = (_: number, j: number) => !mask?.[j];
      y.forEach((v, j) => !keep(v, j) && assert.ok(Math.abs(x[j]! - v) <= lr * i, `step ${i} ${name}[${j}] (noise gradient): ${x[j]} vs ${v}`));
      const e = relErr(x.filter(keep), y.filter(keep));
      if (e > worst.tensor) Object.assign(worst, { tensor: e, name });
      assert.ok(e <= TENSOR_TOL, `step ${i} ${name}: relative error ${e.toExponential(2)} > ${TENSOR_TOL}`);
    }
  }
  return { cpu, gpu, worst: `loss/grad norm ${worst.scalar.toExponential(1)}, tensors ${worst.tensor.toExponential(1)} (${worst.name})` };
}

test('three AdamW steps on WebGPU equal the CPU: loss, gradient norm, every parameter and both moments', needsWebGpu, async (t) => {
  const { cpu, gpu, worst } = await compare({ optimizer: adamw }, 3, 1e-3);
  t.diagnostic(`worst relative errors: ${worst}`);
  // evaluation reads the weights where they are (GPU memory) and agrees with the CPU's
  const [ea, eb] = [await cpu.evaluate(images, labels), await gpu.evaluate(images, labels)];
  eb.logits.data.forEach((v, i) => assert.ok(Math.abs(v - ea.logits.data[i]!) <= TENSOR_TOL * 10, `logit ${i}: ${v} vs ${ea.logits.data[i]}`));
  // load() puts host values back on the device: a step from the CPU's state gives the CPU's next step
  gpu.load(cpu.state());
  const [a, b] = [await cpu.step(images, labels, 1e-3), await gpu.step(images, labels, 1e-3)];
  assert.ok(Math.abs(a.loss - b.loss) <= SCALAR_TOL * a.loss, `after load: ${b.loss} vs ${a.loss}`);
  // copying the state to the GPU and back every step (keepOnDevice: false) computes the same numbers
  const copying = await TrainSession.create(cfg, init, { ...common, optimizer: adamw, device: 'webgpu', keepOnDevice: false });
  const fresh = await TrainSession.create(cfg, init, { ...common, optimizer: adamw, device: 'webgpu' });
  for (let i = 0; i < 2; i++) assert.equal((await copying.step(images, labels, 1e-3)).loss, (await fresh.step(images, labels, 1e-3)).loss);
  await fresh.download();
  for (const [n, t] of fresh.state()) assert.deepEqual(copying.state().get(n)!.data, t.data, n);
  for (const s of [cpu, gpu, copying, fresh]) await s.release();
});

test('SGD-momentum with gradient accumulation and an EMA on WebGPU equals the CPU for three steps', needsWebGpu, async (t) => {
  const { cpu, gpu, worst } = await compare({ optimizer: { kind: 'sgd', momentum: 0.9 }, gradAccum: 2, ema: 0.9 }, 3, 0.05);
  t.diagnostic(`worst relative errors: ${worst}`);
  await cpu.release();
  await gpu.release();
});
