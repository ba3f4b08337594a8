// Finite-difference checks of the layout ops' gradient rules (src/ops/shape.ts), in float64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, type Value } from '../../src/graph/graph.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { mul, tanh } from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import * as sh from '../../src/ops/shape.ts';
import { fdCheck, session } from './fd-check.ts';

test('Reshape (with 0 and -1), and Reshape of a symbolic batch (Shape at run time)', async () => {
  await fdCheck([{ shape: [2, 3, 4] }], (x) => sh.reshape(x, [0, -1]));
  await fdCheck([{ shape: [2, 6] }], (x) => sh.reshape(x, [3, 2, 2]));
  await fdCheck([{ shape: [2, 3, 4], graphShape: ['batch', 3, 4] }], (x) => sh.reshape(x, [0, 12]));
});

test('Transpose', async () => {
  await fdCheck([{ shape: [2, 3, 4] }], (x) => sh.transpose(x, [2, 0, 1]));
  await fdCheck([{ shape: [2, 3, 4, 5] }], (x) => sh.transpose(x, [0, 2, 1, 3]), { maxCoords: 30 });
});

test('Concat of three inputs along a middle axis, and along the last', async () => {
  await fdCheck([{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }], (a, b, c) => sh.concat([a, b!, c!], 1));
  await fdCheck([{ shape: [3, 2] }, { shape: [3, 1] }], (a, b) => sh.concat([a, b!], -1));
  // The same value twice: both slices accumulate.
  await fdCheck([{ shape: [2, 3] }], (a) => sh.concat([a, tanh(a)], 0));
});

test('Split into unequal parts, each used differently, and with a part the loss does not reach', async () => {
  await fdCheck([{ shape: [2, 6, 3] }], (x) => {
    const [a, b, c] = sh.split(x, 1, [1, 3, 2]) as [Value, Value, Value];
    return sh.concat([mul(tanh(a), 2), sh.slice(b, [1], [0], [2]), c], 1);
  });
  await fdCheck([{ shape: [4, 5] }], (x) => tanh(sh.split(x, -1, [2, 3])[1]!));
  assert.throws(() => sh.split(new Graph().input('x', 'float32', [4, 5]), 1, [2, 2]), /Split: sizes \[2, 2\] do not add up to axis 1/);
});

test('Slice on several axes, with negative bounds', async () => {
  await fdCheck([{ shape: [4, 5, 3] }], (x) => sh.slice(x, [0, 1], [1, -4], [3, -1]));
  await fdCheck([{ shape: [3, 6] }], (x) => sh.slice(x, [1], [2], [100]));
});

test('Gather with a scalar index (take) along axes 0 and 1, and a negative index', async () => {
  await fdCheck([{ shape: [3, 2, 4] }], (x) => sh.take(x, 1, 0));
  await fdCheck([{ shape: [2, 5, 3] }], (x) => sh.take(x, 0, 1));
  await fdCheck([{ shape: [2, 5] }], (x) => sh.take(x, -1, 1));
  // The q/k/v pattern: three takes of one tensor.
  await fdCheck([{ shape: [3, 2, 4] }], (x) => mul(mul(sh.take(x, 0), sh.take(x, 1)), sh.take(x, 2)));
});

test('Gather with index tensors: repeated (accumulating), 2-D, negative, runtime int64 indices', async () => {
  const g = (idx: number[], shape: number[]) => (x: import('../../src/graph/graph.ts').Value) =>
    sh.gather(x, x.graph.constant({ dtype: 'int64', shape, data: BigInt64Array.from(idx, BigInt) }, 'idx'), 1);
  await fdCheck([{ shape: [2, 4, 3] }], g([2, 0, 2, 3], [4]));
  await fdCheck([{ shape: [2, 4, 3] }], g([1, 3, 3, -1, 0, 0], [2, 3]));
  await fdCheck([{ shape: [5, 3] }, { shape: [4], dtype: 'int64', data: [4, 0, 4, 2] }], (x, i) => sh.gather(x, i!, 0));
});

test('Expand to a higher rank, and of a runtime (symbolic) batch', async () => {
  await fdCheck([{ shape: [3, 1] }], (x) => sh.expand(x, [2, 3, 4]));
  await fdCheck([{ shape: [1, 1, 4] }, { shape: [3, 2, 4], graphShape: ['b', 2, 4], wrt: false }], (tok, like) =>
    mul(sh.expandTo(tok, like!), like!),
  );
});

test('Unsqueeze, Squeeze, Identity, Pad', async () => {
  await fdCheck([{ shape: [2, 3] }], (x) => sh.unsqueeze(x, [0, 2]));
  await fdCheck([{ shape: [2, 1, 3, 1] }], (x) => sh.squeeze(x, [1, 3]));
  await fdCheck([{ shape: [2, 3] }], (x) => sh.identity(x));
  await fdCheck([{ shape: [2, 3] }], (x) => sh.pad(x, [1, 0, 2, 3]));
});

test('gradients keep symbolic dims (reshaping back through Shape at run time)', () => {
  const gr = new Graph();
  const x = gr.input('x', 'float64', ['b', 3]);
  const y = sh.reshapeTo(mul(x, 2), x);
  assert.equal(y.shape[0], 'b');
  const [dx] = gradients(reduceSum(y, 'all'), [x]);
  assert.deepEqual(dx!.shape, ['b', 3]);
  assert.ok(gr.nodes.some((n) => n.opType === 'Shape'));
});

test('sumTo (unbroadcast) sums leading and size-1 axes back to a shape, and refuses shapes that do not broadcast', async () => {
  const g = new Graph();
  const x = g.input('x', 'float64', [2, 3, 4]);
  assert.equal(sh.sumTo(x, [2, 3, 4]), x);
  assert.throws(() => sh.sumTo(x, [5]), /does not broadcast/);
  assert.throws(() => sh.sumTo(x, [1, 2, 3, 4]), /lower rank/);
  g.output(sh.sumTo(x, [3, 1]), 'rows');
  g.output(sh.sumTo(x, [4]), 'cols');
  const data = Float64Array.from({ length: 24 }, (_, i) => i);
  const out = await (await session(g)).run({ x: { dtype: 'float64', shape: [2, 3, 4], data } });
  const at = (b: number, r: number, c: number) => data[b * 12 + r * 4 + c]!;
  const sum = (f: (b: number, r: number, c: number) => boolean) =>
    [0, 1].flatMap((b) => [0, 1, 2].flatMap((r) => [0, 1, 2, 3].map((c) => (f(b, r, c) ? at(b, r, c) : 0)))).reduce((a, v) => a + v, 0);
  assert.deepEqual(out.rows!.shape, [3, 1]);
  assert.deepEqual(Array.from(out.rows!.data as Float64Array), [0, 1, 2].map((r) => sum((_, rr) => rr === r)));
  assert.deepEqual(Array.from(out.cols!.data as Float64Array), [0, 1, 2, 3].map((c) => sum((_, __, cc) => cc === c)));
  await fdCheck([{ shape: [2, 3, 4] }], (v) => sh.sumTo(v, [3, 1]));
});

test('ScatterND (add), the adjoint of Gather: gradients for data and updates, repeated indices included', async () => {
  const indices = [[2], [0], [2]]; // row 2 receives two updates
  await fdCheck([{ shape: [4, 3] }, { shape: [3, 3] }], (data, updates) => {
    const idx = data.graph.constant({ dtype: 'int64', shape: [3, 1], data: BigInt64Array.from(indices.flat(), BigInt) }, 'idx');
    return data.graph.node('ScatterND', [data, idx, updates], [{ dtype: data.dtype, shape: data.shape }], {
      reduction: { type: 'string', value: 'add' },
    })[0]!;
  });
});
