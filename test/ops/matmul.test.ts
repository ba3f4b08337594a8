// Finite-difference checks of MatMul's gradient rule (src/ops/matmul.ts), in float64, with batch broadcasting.
import { test } from 'node:test';
import { matmul } from '../../src/ops/matmul.ts';
import { linear } from '../../src/ops/nn.ts';
import { fdCheck } from './fd-check.ts';

test('MatMul of matrices', async () => {
  await fdCheck([{ shape: [3, 4] }, { shape: [4, 5] }], matmul);
});

test('MatMul with batch broadcasting: [2,1,3,4] × [5,4,2]', async () => {
  await fdCheck([{ shape: [2, 1, 3, 4] }, { shape: [5, 4, 2] }], matmul, { maxCoords: 40 });
});

test('MatMul of a batch with a shared matrix (the flattened weight-gradient path), both ways round', async () => {
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [4, 5] }], matmul, { maxCoords: 40 });
  await fdCheck([{ shape: [4, 3] }, { shape: [2, 3, 5] }], matmul, { maxCoords: 40 });
  await fdCheck([{ shape: [3, 4], graphShape: ['batch', 4] }, { shape: [4, 2] }], matmul);
  await fdCheck([{ shape: [2, 3, 4], graphShape: ['batch', 3, 4] }, { shape: [4, 2] }], matmul, { maxCoords: 40 });
});

test('MatMul of equal-rank batches ([2,3,4] × [2,4,2]) and of [1,…] against a batch', async () => {
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }], matmul, { maxCoords: 40 });
  await fdCheck([{ shape: [1, 3, 4] }, { shape: [2, 4, 2] }], matmul, { maxCoords: 40 });
});

test('linear: x·Wᵀ + b with PyTorch [out, in] weights', async () => {
  await fdCheck([{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }], (x, w, b) => linear(x, w!, b!), { maxCoords: 40 });
});
