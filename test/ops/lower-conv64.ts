// onnxruntime's CPU build has no float64 Conv or ConvTranspose kernel. For the float64 finite-difference checks,
// lowerConv64 rewrites each float64 Conv/ConvTranspose node (after gradients() has used their rules, as
// lowerErf64 does for Erf) into an im2col product with a constant 0/1 selection matrix S:
//   Conv:          y = W·(x·S)            (x·S gathers every window, zero where the window hits padding)
//   ConvTranspose: y = (Wᵀ·x)·Sᵀ          (the adjoint: each window's contribution scattered back)
// test/ops/conv.test.ts checks both against onnxruntime's float32 kernels, so the checked rules stay the ones
// that emit Conv and ConvTranspose.
import type { Graph, Node, Value } from '../../src/graph/graph.ts';
import { add } from '../../src/ops/elementwise.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { reshape, transpose } from '../../src/ops/shape.ts';

interface Geometry {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly pads: readonly number[];
  readonly dilations: readonly number[];
}

function geometry(node: Node, kernel: readonly number[]): Geometry {
  const ints = (name: string, d: number[]) => (node.attrs[name]?.value as readonly number[] | undefined) ?? d;
  return { kernel, strides: ints('strides', [1, 1]), pads: ints('pads', [0, 0, 0, 0]), dilations: ints('dilations', [1, 1]) };
}

/** S [H·W, K·P] for a convolution from H×W to oh×ow: S[(y, x), (k, p)] = 1 where window p's tap k reads (y, x). */
function selection(g: Graph, [h, w]: readonly number[], [oh, ow]: readonly number[], geo: Geometry): Value {
  const [kh, kw] = geo.kernel as [number, number];
  const p = oh! * ow!;
  const data = new Float64Array(h! * w! * kh * kw * p);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let oy = 0; oy < oh!; oy++) {
        for (let ox = 0; ox < ow!; ox++) {
          const y = oy * geo.strides[0]! - geo.pads[0]! + ky * geo.dilations[0]!;
          const x = ox * geo.strides[1]! - geo.pads[1]! + kx * geo.dilations[1]!;
          if (y < 0 || y >= h! || x < 0 || x >= w!) continue;
          data[(y * w! + x) * kh * kw * p + (ky * kw + kx) * p + oy * ow! + ox] = 1;
        }
      }
    }
  }
  return g.constant({ dtype: 'float64', shape: [h! * w!, kh * kw * p], data }, 'im2col');
}

function lowerConv(g: Graph, node: Node): Value {
  const [x, w, b] = node.inputs as [Value, Value, Value | undefined];
  const y = node.outputs[0]!;
  const [o, c, kh, kw] = w.dims as [number, number, number, number];
  const [, , oh, ow] = y.shape as [unknown, unknown, number, number];
  const s = selection(g, x.shape.slice(2) as number[], [oh, ow], geometry(node, [kh, kw]));
  const cols = reshape(matmul(reshape(x, [0, c, -1]), s), [0, c * kh * kw, oh * ow]); // [N, C·K, P]
  const out = reshape(matmul(reshape(w, [o, c * kh * kw]), cols), [0, o, oh, ow]); // [N, O, oh, ow]
  return b ? add(out, reshape(b, [o, 1, 1])) : out;
}

function lowerConvTranspose(g: Graph, node: Node): Value {
  const [x, w, b] = node.inputs as [Value, Value, Value | undefined];
  const y = node.outputs[0]!;
  const [ci, co, kh, kw] = w.dims as [number, number, number, number];
  const [, , h, wd] = x.shape as [unknown, unknown, number, number];
  const [, , oh, ow] = y.shape as [unknown, unknown, number, number];
  const s = selection(g, [oh, ow], [h, wd], geometry(node, [kh, kw])); // the conv this op is the adjoint of
  const cols = matmul(transpose(reshape(w, [ci, co * kh * kw]), [1, 0]), reshape(x, [0, ci, h * wd])); // [N, Co·K, P]
  const out = reshape(matmul(reshape(cols, [0, co, kh * kw * h * wd]), transpose(s, [1, 0])), [0, co, oh, ow]); // [N, Co, oh, ow]
  return b ? add(out, reshape(b, [co, 1, 1])) : out;
}

/** Replaces every float64 Conv/ConvTranspose node in place by its im2col form; returns how many it lowered. */
export function lowerConv64(g: Graph): number {
  let lowered = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    const node = g.nodes[i]!;
    if ((node.opType !== 'Conv' && node.opType !== 'ConvTranspose') || node.outputs[0]!.dtype !== 'float64') continue;
    const start = g.nodes.length;
    const y = node.opType === 'Conv' ? lowerConv(g, node) : lowerConvTranspose(g, node);
    const added = g.nodes.splice(start);
    g.nodes.splice(i, 1, ...added, { opType: 'Identity', domain: '', inputs: [y], outputs: node.outputs, attrs: {} });
    i += added.length;
    lowered++;
  }
  return lowered;
}
