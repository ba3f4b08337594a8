// Mean attention distance against the float64 numpy reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionDistanceMeter, patchDistances } from '../../src/analysis/attention-distance.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { expected } from '../fixtures.ts';
import { assertClose, reference } from './reference.ts';

/** Image `b` of a [B, H, T, T] tensor as a batch of one. */
function image(t: Tensor, b: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return { ...t, shape: [1, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(b * per, (b + 1) * per) };
}

test('patch distances are Euclidean between patch centres, in pixels', () => {
  const d = patchDistances(3, 16); // 9 patches
  assert.equal(d.length, 81);
  assert.equal(d[0 * 9 + 8], 16 * Math.SQRT2 * 2); // corner to corner
  assert.equal(d[4 * 9 + 5], 16); // centre to its right neighbour
  assert.equal(d[7 * 9 + 7], 0);
});

test('micro_p16_224 (class token, 2 images in one batch) matches the reference', () => {
  const golden = expected('micro_p16_224');
  const meter = new AttentionDistanceMeter(2, 2, 14, 16);
  meter.add([golden.get('attn.0')!, golden.get('attn.1')!]);
  assert.equal(meter.count, 2);
  assertClose(meter.result().flat(), reference('p16.distance').data as Float32Array, 1e-6, 'p16 distance');
});

test('a model without a class token, added one image at a time, matches the reference', () => {
  const layers = [reference('noclass.attn.0'), reference('noclass.attn.1')];
  const meter = new AttentionDistanceMeter(2, 2, 4, 8);
  for (const b of [0, 1]) meter.add(layers.map((l) => image(l, b)));
  assert.equal(meter.count, 2);
  assertClose(meter.result().flat(), reference('noclass.distance').data as Float32Array, 1e-6, 'noclass distance');
});

test('attention that stays on its own patch has distance 0; uniform attention its mean pairwise distance', () => {
  const grid = 2;
  const t = 1 + grid * grid;
  const data = new Float32Array(2 * t * t);
  for (let q = 0; q < t; q++) {
    data[q * t + q] = 1; // head 0: identity
    for (let k = 0; k < t; k++) data[t * t + q * t + k] = 1 / t; // head 1: uniform (class token share left out)
  }
  const meter = new AttentionDistanceMeter(1, 2, grid, 10);
  meter.add([{ dtype: 'float32', shape: [1, 2, t, t], data }]);
  const [[local, uniform]] = meter.result() as [[number, number]];
  assert.equal(local, 0);
  assert.ok(Math.abs(uniform - (2 * 10 + 10 * Math.SQRT2) / 4) < 1e-12, `uniform ${uniform}`);
});

test('shape mismatches and empty meters are errors', () => {
  const meter = new AttentionDistanceMeter(1, 2, 2, 10);
  assert.throws(() => meter.result(), /no attention was added/);
  assert.throws(() => meter.add([]), /expected 1 attention layers, got 0/);
  assert.throws(() => meter.add([{ dtype: 'float32', shape: [1, 3, 5, 5], data: new Float32Array(75) }]), /does not fit 2 heads/);
});
