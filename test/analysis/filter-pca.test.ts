// Principal components of the patch-embedding filters against numpy's SVD.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterPCA } from '../../src/analysis/filter-pca.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';
import { assertClose, reference, row } from './reference.ts';

test('the first 28 components of micro_p16_224 filters (Gram path, D < C·P·P) match numpy', () => {
  const { weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2 });
  const pca = filterPCA(weights.get('patch_embed.proj.weight')!, 28);
  assert.deepEqual(pca.shape, [3, 16, 16]);
  assert.equal(pca.components.length, 28);
  const comps = reference('p16.pca.components');
  pca.components.forEach((c, i) => assertClose(c, row(comps, i), 1e-5, `component ${i}`));
  assertClose(pca.variance, reference('p16.pca.variance').data as Float32Array, 1e-6, 'variance');
  assert.ok(pca.explained.every((e, i) => e > 0 && (i === 0 || e <= pca.explained[i - 1]!)));
});

test('covariance path (D > C·P·P) finds a planted direction and keeps components orthonormal', () => {
  // 200 one-channel 2×2 filters spread mostly along (1, 1, 1, 1)/2, a little along (1, -1, 0, 0)/√2.
  const data = new Float32Array(200 * 4);
  for (let i = 0; i < 200; i++) {
    const a = i % 2 ? 5 : -5; // a and b: zero mean and uncorrelated over 200 samples
    const b = (i >> 1) % 2 ? 1 : -1;
    data.set([a / 2 + b / Math.SQRT2, a / 2 - b / Math.SQRT2, a / 2, a / 2], i * 4);
  }
  const pca = filterPCA({ dtype: 'float32', shape: [200, 1, 2, 2], data }, 28);
  assert.equal(pca.components.length, 2, 'rank 2: only two components carry variance');
  assertClose(pca.components[0]!, [0.5, 0.5, 0.5, 0.5], 1e-5, 'first component');
  assertClose(pca.components[1]!, [Math.SQRT1_2, -Math.SQRT1_2, 0, 0], 1e-5, 'second component');
  assert.ok(Math.abs(pca.explained[0]! + pca.explained[1]! - 1) < 1e-9);
});

test('a weight that is not [D, C, P, P] is an error', () => {
  assert.throws(() => filterPCA({ dtype: 'float32', shape: [4, 3, 2, 3], data: new Float32Array(72) }), /is not \[D, C, P, P\]/);
});
