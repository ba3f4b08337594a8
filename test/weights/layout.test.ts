import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32, tensor } from '../../src/graph/tensor.ts';
import { concatRows, permute, reshape, splitRows, transpose } from '../../src/weights/layout.ts';

test('permute reorders axes like numpy.transpose', () => {
  const t = float32([2, 3, 4], Array.from({ length: 24 }, (_, i) => i));
  const p = permute(t, [2, 0, 1]); // p[k, i, j] = t[i, j, k]
  assert.deepEqual(p.shape, [4, 2, 3]);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) assert.equal(p.data[k * 6 + i * 3 + j], i * 12 + j * 4 + k);
  assert.deepEqual(permute(p, [1, 2, 0]).data, t.data);
  assert.deepEqual([...transpose(float32([2, 3], [1, 2, 3, 4, 5, 6])).data], [1, 4, 2, 5, 3, 6]);
  assert.deepEqual([...permute(tensor('int64', [2, 1], BigInt64Array.from([1n, 2n])), [1, 0]).data], [1n, 2n]);
});

test('concatRows and splitRows invert each other; reshape checks sizes', () => {
  const a = float32([1, 2], [1, 2]);
  const b = float32([2, 2], [3, 4, 5, 6]);
  const c = concatRows([a, b, a]);
  assert.deepEqual(c.shape, [4, 2]);
  assert.deepEqual([...c.data], [1, 2, 3, 4, 5, 6, 1, 2]);
  assert.deepEqual(splitRows(c, 2).map((t) => [...t.data]), [[1, 2, 3, 4], [5, 6, 1, 2]]);
  assert.deepEqual(reshape(c, [2, 4]).shape, [2, 4]);
  assert.throws(() => reshape(c, [3, 3]), /cannot reshape \[4, 2\] to \[3, 3\]/);
});
