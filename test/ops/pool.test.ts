// MaxPool's gradient rule (src/ops/pool.ts) against finite differences in float64, including the overlapping
// 3×3 stride-2 windows and asymmetric 'SAME' padding of a ResNetV2 stem, several images and channels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { maxPool2d } from '../../src/ops/pool.ts';
import { fdCheck, numel, session } from './fd-check.ts';

/** Distinct values at least 0.05 apart (a finite-difference step never changes a window's winner). */
const distinct = (shape: number[]) => Array.from({ length: numel(shape) }, (_, i) => ((i * 37) % numel(shape)) * 0.05 - 1);

test("MaxPool 3×3 stride 2 with 'SAME' pads (0, 1): overlapping windows add up", async () => {
  const shape = [2, 3, 6, 6];
  await fdCheck([{ shape, data: distinct(shape) }], (x) => maxPool2d(x, { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }), { maxCoords: 80 });
});

test('MaxPool 2×2 stride 2 without padding, on an odd size, and with a symbolic batch', async () => {
  const shape = [2, 2, 5, 5];
  await fdCheck([{ shape, data: distinct(shape) }], (x) => maxPool2d(x, { kernel: [2, 2], strides: [2, 2] }));
  await fdCheck([{ shape, data: distinct(shape), graphShape: ['batch', 2, 5, 5] }], (x) =>
    maxPool2d(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  );
});

test('MaxPool gradient: a window sends its whole gradient to one winner', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [1, 1, 2, 2]);
  const [dx] = gradients(reduceSum(maxPool2d(x, { kernel: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1] }), 'all'), [x]);
  g.output(dx!);
  const out = await (await session(g)).run({ x: { dtype: 'float64', shape: [1, 1, 2, 2], data: Float64Array.of(1, 4, 3, 2) } });
  // Windows (0,0), (0,1) pick 4; (1,0) picks 3; (1,1) picks 2.
  assert.deepEqual(Array.from(out['grad.x']!.data as Float64Array), [0, 2, 1, 1]);
});
