// 2-D convolutions (ONNX Conv and ConvTranspose, group 1) with their gradient rules. The two are each other's
// adjoint with respect to the data input, so each rule is built from the other op plus one weight-gradient
// convolution (the input correlated with the output gradient, batch and channel axes swapped).
import { attr, type Dim, type Node, type Value } from '../graph/graph.ts';
import { reduceSum } from './reduce.ts';
import { registerGrad } from './registry.ts';
import { slice, transpose } from './shape.ts';

/** Spatial attributes of a 2-D convolution; pads are ONNX's [top, left, bottom, right]. */
export interface Conv2dOptions {
  readonly strides?: readonly [number, number];
  readonly pads?: readonly [number, number, number, number];
  readonly dilations?: readonly [number, number];
}

type Conv2dAttrs = Required<Conv2dOptions>;

const withDefaults = (o: Conv2dOptions): Conv2dAttrs => ({
  strides: o.strides ?? [1, 1],
  pads: o.pads ?? [0, 0, 0, 0],
  dilations: o.dilations ?? [1, 1],
});

function spatial(op: string, v: Value): [number, number] {
  const [h, w] = v.shape.slice(2);
  if (v.rank !== 4 || typeof h !== 'number' || typeof w !== 'number') throw new Error(`${op}: expected [N, C, H, W] with static H, W, got ${v}`);
  return [h, w];
}

const onnxAttrs = (a: Conv2dAttrs, kernel: readonly number[]) => ({
  kernel_shape: attr.ints(kernel),
  strides: attr.ints(a.strides),
  pads: attr.ints(a.pads),
  dilations: attr.ints(a.dilations),
});

/** Conv on x [N, C, H, W] with weight [O, C, kH, kW] and optional bias [O] → [N, O, H', W']. */
export function conv2d(x: Value, w: Value, bias: Value | null, opts: Conv2dOptions = {}): Value {
  const a = withDefaults(opts);
  const [h, wd] = spatial('Conv', x);
  const [kh, kw] = spatial('Conv', w);
  const [o, c] = w.shape as [Dim, Dim];
  if (x.shape[1] !== c) throw new Error(`Conv: weight ${w} does not fit the channels of ${x}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) throw new Error(`Conv: bias ${bias} does not fit weight ${w}`);
  const out = (n: number, k: number, i: number) =>
    Math.floor((n + a.pads[i]! + a.pads[i + 2]! - ((k - 1) * a.dilations[i]! + 1)) / a.strides[i]!) + 1;
  const shape = [x.shape[0]!, o, out(h, kh, 0), out(wd, kw, 1)];
  if ((shape[2] as number) < 1 || (shape[3] as number) < 1) throw new Error(`Conv: ${w} with ${JSON.stringify(a)} leaves no output for ${x}`);
  return x.graph.node('Conv', bias ? [x, w, bias] : [x, w], [{ dtype: x.dtype, shape }], onnxAttrs(a, [kh, kw]))[0]!;
}

/**
 * ConvTranspose on x [N, Ci, h, w] with weight [Ci, Co, kH, kW] and optional bias [Co] → [N, Co, H, W], where
 * H = s·(h − 1) + outputPadding + (kH − 1)·d + 1 − padTop − padBottom: the adjoint of conv2d(·, w) from
 * [N, Co, H, W] to x's shape.
 */
export function convTranspose2d(
  x: Value,
  w: Value,
  bias: Value | null,
  opts: Conv2dOptions & { readonly outputPadding?: readonly [number, number] },
): Value {
  const a = withDefaults(opts);
  const op = opts.outputPadding ?? [0, 0];
  const [h, wd] = spatial('ConvTranspose', x);
  const [kh, kw] = spatial('ConvTranspose', w);
  if (x.shape[1] !== w.shape[0]) throw new Error(`ConvTranspose: weight ${w} does not fit the channels of ${x}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[1])) throw new Error(`ConvTranspose: bias ${bias} does not fit weight ${w}`);
  const out = (n: number, k: number, i: number) =>
    a.strides[i]! * (n - 1) + op[i]! + (k - 1) * a.dilations[i]! + 1 - a.pads[i]! - a.pads[i + 2]!;
  const shape = [x.shape[0]!, w.shape[1]!, out(h, kh, 0), out(wd, kw, 1)];
  return x.graph.node('ConvTranspose', bias ? [x, w, bias] : [x, w], [{ dtype: x.dtype, shape }], {
    ...onnxAttrs(a, [kh, kw]),
    output_padding: attr.ints(op),
  })[0]!;
}

/**
 * The gradient of conv2d(x, w) with respect to w [O, C, kH, kW], given dy [N, O, h, w]:
 * dW[o, c, i, j] = Σ dy[n, o, y, x]·xpad[n, c, y·s + i·d, x·s + j·d], i.e. a convolution of x (channels as the
 * batch) with dy (batch as the channels) whose stride is the forward dilation and whose dilation is the forward
 * stride. Rows the forward never reached (the floor in its output size) come out beyond kH and are sliced off.
 */
function convWeightGrad(x: Value, dy: Value, a: Conv2dAttrs, kernel: readonly [number, number]): Value {
  const swap = (v: Value) => transpose(v, [1, 0, 2, 3]); // [N, C, H, W] → [C, N, H, W]
  let dw = conv2d(swap(x), swap(dy), null, { strides: a.dilations, pads: a.pads, dilations: a.strides }); // [C, O, kH', kW']
  const [kh, kw] = spatial('Conv', dw);
  if (kh !== kernel[0] || kw !== kernel[1]) dw = slice(dw, [2, 3], [0, 0], [...kernel]);
  return swap(dw); // [O, C, kH, kW]
}

function attrsOf(node: Node): Conv2dAttrs {
  const ints = (name: string) => node.attrs[name]?.value as readonly number[] | undefined;
  if ((node.attrs.group?.value ?? 1) !== 1) throw new Error(`${node.opType} gradient: only group 1 is supported`);
  if ((node.attrs.auto_pad?.value ?? 'NOTSET') !== 'NOTSET') {
    throw new Error(`${node.opType} gradient: auto_pad is not supported (give explicit pads)`);
  }
  if (node.inputs[0]!.rank !== 4) throw new Error(`${node.opType} gradient: only 2-D convolutions are supported`);
  return withDefaults({
    strides: ints('strides') as Conv2dAttrs['strides'] | undefined,
    pads: ints('pads') as Conv2dAttrs['pads'] | undefined,
    dilations: ints('dilations') as Conv2dAttrs['dilations'] | undefined,
  });
}

const need = (needs: readonly boolean[] | undefined, i: number): boolean => !needs || !!needs[i];
const biasGrad = (g: Value): Value => reduceSum(g, [0, 2, 3]);

// y = conv(x, w) + b: dx = convTranspose(dy, w) with the output padding that restores x's size (the rows the
// forward's floor dropped), dw as convWeightGrad, db = Σ dy over batch and space.
registerGrad({
  opType: 'Conv',
  vjp: (node, dys, needs) => {
    const [x, w, b] = node.inputs as [Value, Value, Value | undefined];
    const g = dys[0]!;
    const a = attrsOf(node);
    const kernel = spatial('Conv', w);
    const [oh, ow] = spatial('Conv', g);
    let dx: Value | null = null;
    if (need(needs, 0)) {
      const [h, wd] = spatial('Conv', x);
      const reach = (o: number, k: number, i: number) => a.strides[i]! * (o - 1) + (k - 1) * a.dilations[i]! + 1 - a.pads[i]! - a.pads[i + 2]!;
      dx = convTranspose2d(g, w, null, { ...a, outputPadding: [h - reach(oh, kernel[0], 0), wd - reach(ow, kernel[1], 1)] });
    }
    const dw = need(needs, 1) ? convWeightGrad(x, g, a, kernel) : null;
    return b ? [dx, dw, need(needs, 2) ? biasGrad(g) : null] : [dx, dw];
  },
});

// y = convTranspose(x, w) + b, the adjoint of conv(·, w): dx = conv(dy, w); dw is the weight gradient of the
// convolution that maps dy's size to x's (input dy, output gradient x); db = Σ dy.
registerGrad({
  opType: 'ConvTranspose',
  vjp: (node, dys, needs) => {
    const [x, w, b] = node.inputs as [Value, Value, Value | undefined];
    const g = dys[0]!;
    const a = attrsOf(node);
    if (node.attrs.output_shape) throw new Error('ConvTranspose gradient: output_shape is not supported (give output_padding)');
    const dx = need(needs, 0) ? conv2d(g, w, null, a) : null;
    const dw = need(needs, 1) ? convWeightGrad(g, x, a, spatial('ConvTranspose', w)) : null;
    return b ? [dx, dw, need(needs, 2) ? biasGrad(g) : null] : [dx, dw];
  },
});
