// Conv and ConvTranspose: the float64 lowering the harness uses agrees with onnxruntime's float32 kernels, and the
// gradient rules match finite differences in float64 for the geometries a ResNetV2 backbone uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { type Conv2dOptions, conv2d, convTranspose2d } from '../../src/ops/conv.ts';
import { Session } from '../../src/runtime/session.ts';
import { maxAbsDiff } from '../fixtures.ts';
import { fdCheck, numel, randn, session } from './fd-check.ts';

type Geometry = Conv2dOptions & { readonly x: number[]; readonly w: number[] };

const geometries: Record<string, Geometry> = {
  '3×3 stride 1, pads 1': { x: [2, 3, 5, 5], w: [4, 3, 3, 3], pads: [1, 1, 1, 1] },
  "7×7 stride 2, 'SAME' pads (2, 3) on 8 px": { x: [1, 2, 8, 8], w: [3, 2, 7, 7], strides: [2, 2], pads: [2, 2, 3, 3] },
  '3×3 stride 2, pads (0, 1)': { x: [2, 2, 6, 6], w: [2, 2, 3, 3], strides: [2, 2], pads: [0, 0, 1, 1] },
  '1×1 stride 2 on an even size (the last row is never read)': { x: [2, 3, 6, 6], w: [4, 3, 1, 1], strides: [2, 2] },
  '2×2 stride 2 on 5 px (patch projection; floor)': { x: [2, 3, 5, 5], w: [2, 3, 2, 2], strides: [2, 2] },
  '3×3 dilation 2, stride 2, rectangular': { x: [1, 2, 7, 9], w: [2, 2, 3, 2], strides: [2, 1], pads: [1, 0, 2, 1], dilations: [2, 2] },
};

async function run(g: Graph, feeds: Record<string, number[]>, dtype: 'float32' | 'float64', lower: boolean): Promise<Float64Array> {
  const s = lower ? await session(g) : await Session.create(toOnnx(g), { threads: 1 });
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => {
    const input = g.inputs.find((i) => i.name === k)!;
    return [k, { dtype, shape: input.dims, data: dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v) }];
  }));
  const out = await s.run(tensors);
  await s.release();
  return Float64Array.from(out.y!.data as Float32Array);
}

/** The output size of conv2d for a geometry, and the ConvTranspose output padding that maps it back to the input's. */
function convOut(geo: Geometry): { dims: number[]; outputPadding: [number, number] } {
  const reach = (i: number, o: number) =>
    (geo.strides?.[i] ?? 1) * (o - 1) + (geo.w[2 + i]! - 1) * (geo.dilations?.[i] ?? 1) + 1 - (geo.pads?.[i] ?? 0) - (geo.pads?.[i + 2] ?? 0);
  const out = (i: number) =>
    Math.floor(
      (geo.x[2 + i]! + (geo.pads?.[i] ?? 0) + (geo.pads?.[i + 2] ?? 0) - (geo.w[2 + i]! - 1) * (geo.dilations?.[i] ?? 1) - 1) /
        (geo.strides?.[i] ?? 1),
    ) + 1;
  const [oh, ow] = [out(0), out(1)];
  return { dims: [geo.x[0]!, geo.w[0]!, oh, ow], outputPadding: [geo.x[2]! - reach(0, oh), geo.x[3]! - reach(1, ow)] };
}

function build(op: 'Conv' | 'ConvTranspose', geo: Geometry, dtype: 'float32' | 'float64'): Graph {
  const g = new Graph();
  if (op === 'Conv') {
    g.output(conv2d(g.input('x', dtype, geo.x), g.input('w', dtype, geo.w), g.input('b', dtype, [geo.w[0]!]), geo), 'y');
  } else {
    const { dims, outputPadding } = convOut(geo);
    const y = convTranspose2d(g.input('x', dtype, dims), g.input('w', dtype, geo.w), g.input('b', dtype, [geo.w[1]!]), { ...geo, outputPadding });
    assert.deepEqual(y.shape, [geo.x[0], geo.w[1], geo.x[2], geo.x[3]]);
    g.output(y, 'y');
  }
  return g;
}

test('the float64 im2col lowering equals onnxruntime Conv and ConvTranspose (float32)', async () => {
  for (const [name, geo] of Object.entries(geometries)) {
    for (const op of ['Conv', 'ConvTranspose'] as const) {
      const f32 = build(op, geo, 'float32');
      const feeds: Record<string, number[]> = {};
      for (const i of f32.inputs) feeds[i.name] = Array.from(randn(i.dims, numel(i.dims)));
      const want = await run(f32, feeds, 'float32', false);
      const got = await run(build(op, geo, 'float64'), feeds, 'float64', true);
      const diff = maxAbsDiff({ dtype: 'float64', shape: [got.length], data: got }, { dtype: 'float64', shape: [want.length], data: want });
      assert.ok(diff < 1e-5, `${op} ${name}: ${diff}`);
    }
  }
});

for (const [name, geo] of Object.entries(geometries)) {
  test(`Conv gradients (input, weight, bias): ${name}`, async () => {
    await fdCheck([{ shape: geo.x }, { shape: geo.w }, { shape: [geo.w[0]!] }], (x, w, b) => conv2d(x, w!, b!, geo), { maxCoords: 30 });
  });
}

test('Conv without bias', async () => {
  const geo = geometries["7×7 stride 2, 'SAME' pads (2, 3) on 8 px"]!;
  await fdCheck([{ shape: geo.x }, { shape: geo.w }], (x, w) => conv2d(x, w!, null, geo), { maxCoords: 30 });
});

test('ConvTranspose gradients (input, weight, bias)', async () => {
  for (const geo of [geometries['3×3 stride 2, pads (0, 1)']!, geometries['3×3 dilation 2, stride 2, rectangular']!]) {
    const { dims, outputPadding } = convOut(geo);
    await fdCheck([{ shape: dims }, { shape: geo.w }, { shape: [geo.w[1]!] }], (x, w, b) => convTranspose2d(x, w!, b!, { ...geo, outputPadding }), {
      maxCoords: 30,
    });
  }
});
