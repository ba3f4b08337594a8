// fp16 inference: a pass that rewrites a float32 inference graph to compute in float16, for GPUs with f16 shaders
// (WebGPU's `shader-f16`), where half-width values halve the memory traffic and the f16 ALUs run faster. The graph's
// interface stays float32 (the pixel input is cast to float16, each output back to float32), so callers see the
// float32 model's inputs and outputs. The same graph runs on the CPU, where it is a way to check it, not faster.
//
// Which ops stay float32 (FLOAT32_OPS) was decided by reading onnxruntime's WebGPU kernels and measuring (docs/gpu.md,
// bench/int8-accuracy.ts --precision fp16): see FLOAT32_OPS.
import { type Attr, COMPOSITE, Graph, type Node, type Value, inlineComposites } from '../graph/graph.ts';
import { elemType } from '../graph/onnx.ts';
import { toHalf } from '../graph/half.ts';
import type { DType, Tensor } from '../graph/tensor.ts';

/**
 * Ops computed in float32 inside an fp16 graph, their float16 inputs cast up and their outputs cast back down.
 * Softmax: onnxruntime's WebGPU kernel sums the exponentials of a row in the element type (f16 over 197+ terms)
 * and PyTorch's autocast keeps it float32 for the same reason; its input is the scores, so the cast costs two passes
 * over the largest tensor of a block. LayerNormalization is not here: both onnxruntime's WebGPU kernel and its CPU
 * kernel accumulate the statistics in float32 whatever the element type (layer_norm.cc; `stash_type` 1).
 */
export const FLOAT32_OPS: ReadonlySet<string> = new Set(['Softmax']);

/**
 * Standard ops whose float inputs and outputs may all become float16 without changing attributes (none of these
 * carries a dtype or a float tensor in an attribute). An op outside this list is an error, not a silent float32 op:
 * the list is what the inference graphs of every family use (test/model/fp16.test.ts builds them all).
 */
const FLOAT16_OPS = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Sqrt', 'Pow', 'MatMul', 'Gemm', 'Conv', 'MaxPool',
  'Pad', 'LayerNormalization', 'Softmax', 'ReduceMean', 'ReduceSum', 'Concat', 'Split', 'Slice', 'Gather', 'Reshape',
  'Transpose', 'Expand', 'Identity', 'Shape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Where',
  // CLIP's text tower finds its end token (on int64 ids) and gathers its features
  'Equal', 'ArgMax', 'GatherElements',
]);

export interface Float16Options {
  /** Op types kept in float32 (default FLOAT32_OPS). */
  readonly keepFloat32?: ReadonlySet<string>;
}

/**
 * A float16 copy of `g`: float32 initializers stored as float16, every node computed in float16 except those in
 * `keepFloat32`, float32 inputs cast to float16 where first used and float32 outputs cast back (same names and
 * dtypes as `g`'s). Composite nodes are inlined (the result is for onnxruntime, not for autodiff). Throws on a
 * com.microsoft node (its float16 support varies by provider) or an op it has no rule for.
 */
export function float16Graph(g: Graph, opts: Float16Options = {}): Graph {
  const keep = opts.keepFloat32 ?? FLOAT32_OPS;
  const h = new Graph(g.name);
  const outputNames = new Set(g.outputs.map((v) => v.name));
  // each source value's counterparts in h, by dtype: a float32 value may have a float32 and a float16 twin
  const twins = new Map<Value, Map<DType, Value>>();
  const twin = (v: Value, dtype: DType, made: Value) => (twins.get(v) ?? twins.set(v, new Map()).get(v)!).set(dtype, made);

  /** `v`'s counterpart in h as `dtype` (float32 values only change type): an initializer converted once, else a Cast. */
  const as = (v: Value, dtype: DType): Value => {
    const have = twins.get(v);
    const found = have?.get(dtype);
    if (found) return found;
    const init = g.initializers.get(v.name);
    if (init && init.dtype === 'float32') {
      const made = h.initializer(dtype === 'float16' ? v.name : `${v.name}.fp32`, dtype === 'float16' ? half(v.name, init) : init);
      twin(v, dtype, made);
      return made;
    }
    if (init) {
      const made = h.initializer(v.name, init);
      twin(v, v.dtype, made);
      return made;
    }
    if (!have) throw new Error(`float16: '${v.name}' is used before it is made`);
    const [from] = have.values();
    const made = h.node('Cast', [from!], [{ dtype, shape: v.shape, name: h.uniqueName(`${v.name}.${dtype === 'float16' ? 'fp16' : 'fp32'}`) }], {
      to: { type: 'int', value: elemType[dtype] },
    })[0]!;
    twin(v, dtype, made);
    return made;
  };

  for (const v of g.inputs) twin(v, v.dtype, h.input(v.name, v.dtype, v.shape));
  for (const n of inlineComposites(g.nodes)) {
    if (n.domain !== '' && n.domain !== COMPOSITE) {
      throw new Error(`float16: ${n.domain} ${n.opType} has no float16 form here (build the graph with plain attention and float weights)`);
    }
    if (!FLOAT16_OPS.has(n.opType)) throw new Error(`float16: no rule for ${n.opType} (its attributes may carry a dtype)`);
    const compute: DType = keep.has(n.opType) ? 'float32' : 'float16';
    const inputs = n.inputs.map((x) => (x ? as(x, x.dtype === 'float32' ? compute : x.dtype) : null));
    const outputs = n.outputs.map((o) => {
      const dtype = o.dtype === 'float32' ? compute : o.dtype;
      // a graph output keeps its name for the float32 cast at the end
      return { dtype, shape: o.shape, name: dtype !== o.dtype && outputNames.has(o.name) ? `${o.name}.fp16` : o.name };
    });
    const made = inScope(h, n, () => h.node(n.opType, inputs, outputs, n.attrs as Record<string, Attr>));
    n.outputs.forEach((o, i) => twin(o, made[i]!.dtype, made[i]!));
  }
  for (const v of g.outputs) {
    const same = twins.get(v)?.get(v.dtype);
    const to = { to: { type: 'int', value: elemType[v.dtype] } } as const;
    h.output(same ?? h.node('Cast', [as(v, 'float16')], [{ dtype: v.dtype, shape: v.shape, name: v.name }], to)[0]!, v.name);
  }
  return h;
}

/** Runs `build` in the source node's scope, so profiles and placements name the same blocks as the float32 graph. */
function inScope<T>(h: Graph, n: Node, build: () => T): T {
  return n.scope ? h.inScope(n.scope, build) : build();
}

/** A float32 tensor rounded to float16 (nearest even); a finite value beyond float16's ±65504 is an error. */
function half(name: string, t: Tensor): Tensor<'float16'> {
  const data = toHalf(t.data as Float32Array);
  const i = data.findIndex((h, j) => (h & 0x7c00) === 0x7c00 && Number.isFinite(t.data[j]));
  if (i >= 0) throw new Error(`float16: '${name}' holds ${t.data[i]}, beyond float16's range (±65504): use fp32`);
  return { dtype: 'float16', shape: t.shape, data };
}
