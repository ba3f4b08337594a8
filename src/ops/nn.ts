// Neural-network ops: Softmax, LayerNormalization, GELU.
import { attr, type Value } from '../graph/graph.ts';
import { normAxis } from '../graph/shapes.ts';
import { add, erf, mul } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { transpose } from './shape.ts';

export function softmax(x: Value, axis = -1): Value {
  const a = normAxis('Softmax', axis, x.rank);
  return x.graph.node('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: attr.int(a) })[0]!;
}

/** LayerNormalization over the last axis with per-channel scale and bias. */
export function layerNorm(x: Value, scale: Value, bias: Value, epsilon: number): Value {
  const d = x.shape[x.rank - 1];
  for (const p of [scale, bias]) {
    if (p.rank !== 1 || p.shape[0] !== d) throw new Error(`LayerNormalization: ${p} does not fit the last axis of ${x}`);
  }
  return x.graph.node('LayerNormalization', [x, scale, bias], [{ dtype: x.dtype, shape: x.shape }], {
    axis: attr.int(-1),
    epsilon: attr.float(epsilon),
  })[0]!;
}

/**
 * GELU in its exact erf form, x·½(1 + erf(x/√2)), as the paper's MLP; written with standard ops
 * so onnxruntime fuses it into its Gelu kernel for inference and autodiff differentiates the parts.
 */
export function gelu(x: Value): Value {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** A fully connected layer with PyTorch's [out, in] weight layout: x·Wᵀ + b. */
export function linear(x: Value, weight: Value, bias?: Value | null): Value {
  const y = matmul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}
