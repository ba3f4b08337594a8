// The families' MLP activations: values against their definitions, gradients by finite differences (float64).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/graph.ts';
import { mul } from '../../src/ops/elementwise.ts';
import { geluTanh, mlpHidden, quickGelu, silu } from '../../src/model/mlp.ts';
import { fdCheck, session } from '../ops/fd-check.ts';

const xs = [-3, -1.2, -0.3, 0, 0.4, 1, 2.5];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const reference: Record<string, (x: number) => number> = {
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

// float32, as models run (onnxruntime fuses x·σ(αx) into its QuickGelu kernel, which has no float64 form).
test('QuickGELU and tanh-GELU equal their formulas', async () => {
  for (const [kind, ref] of Object.entries(reference)) {
    const g = new Graph('act');
    g.output(mlpHidden(g.input('x', 'float32', [xs.length]), kind as 'quick_gelu'), 'y');
    const y = (await (await session(g)).run({ x: { dtype: 'float32', shape: [xs.length], data: Float32Array.from(xs) } })).y!;
    xs.forEach((x, i) => assert.ok(Math.abs(Number(y.data[i]) - ref(x)) < 1e-6, `${kind}(${x})`));
  }
});

test('SwiGLU gates the second half with silu of the first (timm SwiGLUPacked)', async () => {
  const g = new Graph('swiglu');
  g.output(mlpHidden(g.input('h', 'float32', [1, 4]), 'swiglu'), 'y');
  const h = Float32Array.of(1, -2, 3, 0.5);
  const y = (await (await session(g)).run({ h: { dtype: 'float32', shape: [1, 4], data: h } })).y!;
  assert.deepEqual(y.shape, [1, 2]);
  assert.ok(Math.abs(Number(y.data[0]) - sigmoid(1) * 3) < 1e-6);
  assert.ok(Math.abs(Number(y.data[1]) - -2 * sigmoid(-2) * 0.5) < 1e-6);
});

test('gradients of QuickGELU, tanh-GELU, SiLU, SwiGLU and layer scale match finite differences', async () => {
  await fdCheck([{ shape: [3, 5] }], (x) => quickGelu(x));
  await fdCheck([{ shape: [3, 5] }], (x) => geluTanh(x));
  await fdCheck([{ shape: [3, 5] }], (x) => silu(x));
  await fdCheck([{ shape: [2, 3, 6] }], (h) => mlpHidden(h, 'swiglu'));
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [4] }], (x, gamma) => mul(x, gamma)); // layer scale: x·γ per channel
});
