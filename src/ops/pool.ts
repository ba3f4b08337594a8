// 2-D max pooling (ONNX MaxPool) and its gradient rule.
import { attr, type Value } from '../graph/graph.ts';
import { outGrad, registerGrad } from './registry.ts';
import { scatterAddElements } from './scatter.ts';
import { reshapeTo, zerosLike } from './shape.ts';

export interface MaxPool2dOptions {
  readonly kernel: readonly [number, number];
  readonly strides?: readonly [number, number];
  /**
   * [top, left, bottom, right]. Padded positions never win the max (as padding with −inf), which is what
   * TensorFlow's 'SAME' max pool does.
   */
  readonly pads?: readonly [number, number, number, number];
}

/** MaxPool on x [N, C, H, W] → [N, C, H', W'], H' = floor((H + pads − kH) / s) + 1. */
export function maxPool2d(x: Value, opts: MaxPool2dOptions): Value {
  const { kernel } = opts;
  const strides = opts.strides ?? [1, 1];
  const pads = opts.pads ?? [0, 0, 0, 0];
  const [h, w] = x.shape.slice(2);
  if (x.rank !== 4 || typeof h !== 'number' || typeof w !== 'number') throw new Error(`MaxPool: expected [N, C, H, W] with static H, W, got ${x}`);
  const out = (n: number, i: number) => Math.floor((n + pads[i]! + pads[i + 2]! - kernel[i]!) / strides[i]!) + 1;
  const shape = [x.shape[0]!, x.shape[1]!, out(h, 0), out(w, 1)];
  return x.graph.node('MaxPool', [x], [{ dtype: x.dtype, shape }], {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    pads: attr.ints(pads),
  })[0]!;
}

/** [d0, …] → [d0·…] (the length is symbolic when a dim is). */
function flatten(v: Value): Value {
  const n = v.shape.every((d) => typeof d === 'number') ? v.dims.reduce((a, b) => a * b, 1) : v.shape.join('*');
  const shape = v.graph.constant({ dtype: 'int64', shape: [1], data: BigInt64Array.of(-1n) }, 'shape');
  return v.graph.node('Reshape', [v, shape], [{ dtype: v.dtype, shape: [n] }])[0]!;
}

// Each output's gradient goes to the input element that won its window; overlapping windows (3×3 stride 2) add
// up. The winners come from MaxPool's Indices output (positions in the flattened input, batch and channel
// offsets included), so the rule re-runs the pool with that output rather than making every forward emit it.
registerGrad({
  opType: 'MaxPool',
  vjp: (node, dys) => {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    if (dys[1]) throw new Error('MaxPool gradient: the Indices output is not differentiable');
    if ((node.attrs.storage_order?.value ?? 0) !== 0) throw new Error('MaxPool gradient: only storage_order 0 is supported');
    if ((node.attrs.auto_pad?.value ?? 'NOTSET') !== 'NOTSET') throw new Error('MaxPool gradient: auto_pad is not supported (give explicit pads)');
    const indices = node.outputs[1]
      ?? x.graph.node('MaxPool', [x], [{ dtype: y.dtype, shape: y.shape }, { dtype: 'int64', shape: y.shape }], node.attrs)[1]!;
    return [reshapeTo(scatterAddElements(flatten(zerosLike(x)), flatten(indices), flatten(outGrad(node, dys)), 0), x)];
  },
});
