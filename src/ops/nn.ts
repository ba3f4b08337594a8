// Neural-network ops: Softmax, LogSoftmax, LayerNormalization, GELU (a composite), linear; with the gradient
// rules of Softmax, LogSoftmax, GELU and LayerNormalization.
import { COMPOSITE, type Node, type Value, attr } from '../graph/graph.ts';
import { normAxis } from '../graph/shapes.ts';
import { add, cast, div, erf, exp, log, mul, sub } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { reduceMax, reduceMean, reduceSum } from './reduce.ts';
import { outGrad, registerGrad } from './registry.ts';
import { sumTo, transpose } from './shape.ts';

export function softmax(x: Value, axis = -1): Value {
  const a = normAxis('Softmax', axis, x.rank);
  return x.graph.node('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: attr.int(a) })[0]!;
}

/**
 * log(softmax(x)) along an axis, stably: z = x − max(x), then z − log Σ exp(z). A composite of standard ops rather
 * than ONNX's LogSoftmax, which onnxruntime's WebGPU provider lacks (it fell back to the CPU, copying the logits out
 * and back every step); the composite runs on every provider and keeps LogSoftmax's one gradient rule.
 */
export function logSoftmax(x: Value, axis = -1): Value {
  const a = normAxis('LogSoftmax', axis, x.rank);
  return x.graph.composite('LogSoftmax', [x], () => {
    const z = sub(x, reduceMax(x, [a], true));
    return [sub(z, log(reduceSum(exp(z), [a], true)))];
  }, { axis: attr.int(a) })[0]!;
}

/** LayerNormalization over the last axis with per-channel scale and (optional) bias. */
export function layerNorm(x: Value, scale: Value, bias: Value | null, epsilon: number): Value {
  const d = x.shape[x.rank - 1];
  for (const p of bias ? [scale, bias] : [scale]) {
    if (p.rank !== 1 || p.shape[0] !== d) throw new Error(`LayerNormalization: ${p} does not fit the last axis of ${x}`);
  }
  return x.graph.node('LayerNormalization', bias ? [x, scale, bias] : [x, scale], [{ dtype: x.dtype, shape: x.shape }], {
    axis: attr.int(-1),
    epsilon: attr.float(epsilon),
  })[0]!;
}

/**
 * GELU in its exact erf form, x·½(1 + erf(x/√2)), as the paper's MLP: a composite (its own gradient rule) whose body is
 * exactly the node pattern onnxruntime's GeluFusion matches, Div(√2) → Erf → Add(1) → Mul(x) → Mul(0.5). Differentiated
 * as its parts, the backward would read the Erf output and keep onnxruntime from fusing the forward into one kernel.
 */
export function gelu(x: Value): Value {
  return x.graph.composite('Gelu', [x], () => [mul(mul(x, add(erf(div(x, Math.SQRT2)), 1)), 0.5)])[0]!;
}

/** A fully connected layer with PyTorch's [out, in] weight layout: x·Wᵀ + b. */
export function linear(x: Value, weight: Value, bias?: Value | null): Value {
  const y = matmul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}

// ---- gradient rules ----

const axisOf = (attrs: Readonly<Record<string, { value: unknown }>>, rank: number, op: string): number =>
  normAxis(op, (attrs.axis?.value as number | undefined) ?? -1, rank);

// y = softmax(x): dx = y ⊙ (g − Σ g ⊙ y).
registerGrad({
  opType: 'Softmax',
  vjp: (node, dys) => {
    const y = node.outputs[0]!;
    const g = outGrad(node, dys);
    const a = axisOf(node.attrs, y.rank, 'Softmax');
    return [mul(y, sub(g, reduceSum(mul(g, y), [a], true)))];
  },
});

// y = log softmax(x): dx = g − softmax(x) ⊙ Σ g, with softmax(x) = eʸ.
registerGrad({
  opType: 'LogSoftmax',
  domain: COMPOSITE,
  vjp: (node, dys) => {
    const y = node.outputs[0]!;
    const g = outGrad(node, dys);
    const a = axisOf(node.attrs, y.rank, 'LogSoftmax');
    return [sub(g, mul(exp(y), reduceSum(g, [a], true)))];
  },
});

// gelu'(x) = Φ(x) + x·φ(x) = ½·(1 + erf(x/√2) + x·√(2/π)·e^(−x²/2)), recomputed from x alone.
registerGrad({
  opType: 'Gelu',
  domain: COMPOSITE,
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const xPdf = mul(x, exp(mul(mul(x, -0.5), x))); // x·e^(−x²/2)
    const slope = add(add(erf(mul(x, Math.SQRT1_2)), 1), mul(xPdf, Math.sqrt(2 / Math.PI)));
    return [mul(mul(outGrad(node, dys), slope), 0.5)];
  },
});

// y = x̂ ⊙ scale + bias with x̂ = (x − μ)·r, r = 1/√(σ² + ε) over the axes from `axis` on. With ĝ = g ⊙ scale:
//   dx = r · (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)),  dscale = Σ g ⊙ x̂,  dbias = Σ g  (sums over the leading axes).
// μ and r are the forward's own Mean and InvStdDev outputs (added to the node here, so inference graphs never carry
// them): reusing them instead of recomputing saves three passes over x.
registerGrad({
  opType: 'LayerNormalization',
  vjp: (node, dys, needs) => {
    const [x, scale, bias] = node.inputs as [Value, Value, Value | null];
    if (dys.slice(1).some((d) => d)) throw new Error('LayerNormalization gradient: the Mean/InvStdDev outputs are not differentiable');
    const g = outGrad(node, dys);
    const a = axisOf(node.attrs, x.rank, 'LayerNormalization');
    const axes = x.shape.map((_, i) => i).filter((i) => i >= a);
    const need = (i: number): boolean => !needs || !!needs[i];
    let dx: Value | null = null;
    let dscale: Value | null = null;
    if (need(0) || need(1)) {
      const [mean, r] = statistics(node, x, a);
      const xhat = mul(sub(x, mean), r);
      if (need(0)) {
        const gh = mul(g, scale);
        dx = mul(r, sub(sub(gh, reduceMean(gh, axes, true)), mul(xhat, reduceMean(mul(gh, xhat), axes, true))));
      }
      if (need(1)) dscale = sumTo(mul(g, xhat), scale.shape);
    }
    const dbias = bias && need(2) ? sumTo(g, bias.shape) : null;
    return [dx, dscale, dbias].slice(0, node.inputs.length);
  },
});

/** A LayerNormalization node's Mean and InvStdDev outputs ([..., 1, …] over the normalised axes), added when absent. */
function statistics(node: Node, x: Value, axis: number): [Value, Value] {
  if (node.outputs.length === 3) return [cast(node.outputs[1]!, x.dtype), cast(node.outputs[2]!, x.dtype)];
  if (node.outputs.length !== 1) throw new Error('LayerNormalization gradient: expected the node to have 1 or 3 outputs');
  const shape = x.shape.map((d, i) => (i < axis ? d : 1));
  // The statistics are float32 (stash_type 1, the default and the only one onnxruntime's kernels implement).
  const [mean, r] = x.graph.addOutputs(node, [{ dtype: 'float32', shape }, { dtype: 'float32', shape }]);
  return [cast(mean!, x.dtype), cast(r!, x.dtype)];
}
