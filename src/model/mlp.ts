// The blocks' MLP activations (config.ts MlpKind), composed from standard ops whose gradient rules exist, so a
// family's MLP trains with no new rule: QuickGELU and SiLU from Sigmoid and Mul, tanh-GELU from Tanh and Mul.
import type { Value } from '../graph/graph.ts';
import { add, mul, sigmoid, tanh } from '../ops/elementwise.ts';
import { gelu } from '../ops/nn.ts';
import { split } from '../ops/shape.ts';
import type { MlpKind } from './config.ts';

/** OpenAI CLIP's QuickGELU, x·σ(1.702·x). */
export function quickGelu(x: Value): Value {
  return mul(x, sigmoid(mul(x, 1.702)));
}

/** GELU's tanh approximation, ½x(1 + tanh(√(2/π)(x + 0.044715x³))): PyTorch's gelu(approximate='tanh'). */
export function geluTanh(x: Value): Value {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, add(tanh(inner), 1)), 0.5);
}

/** SiLU (swish), x·σ(x). */
export function silu(x: Value): Value {
  return mul(x, sigmoid(x));
}

/**
 * The hidden layer of an MLP from fc1's output `h` [..., m]: act(h), or for SwiGLU silu(a)·b over h's two halves
 * [..., m/2] (timm's SwiGLUPacked and transformers' Dinov2SwiGLUFFN both gate with the first half).
 */
export function mlpHidden(h: Value, kind: MlpKind = 'gelu'): Value {
  switch (kind) {
    case 'gelu':
      return gelu(h);
    case 'gelu_tanh':
      return geluTanh(h);
    case 'quick_gelu':
      return quickGelu(h);
    case 'swiglu': {
      const m = h.shape[h.rank - 1] as number;
      const [a, b] = split(h, h.rank - 1, [m / 2, m / 2]) as [Value, Value];
      return mul(silu(a), b);
    }
  }
}
