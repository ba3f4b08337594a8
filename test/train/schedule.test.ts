import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate } from '../../src/train/schedule.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('linear warm-up reaches the peak at the last warm-up step', () => {
  const s = { kind: 'cosine' as const, lr: 1e-3, warmupSteps: 10, totalSteps: 110 };
  close(learningRate(s, 0), 1e-4);
  close(learningRate(s, 9), 1e-3);
});

test('cosine decays to zero through half the peak at the midpoint', () => {
  const s = { kind: 'cosine' as const, lr: 1e-3, warmupSteps: 10, totalSteps: 110 };
  close(learningRate(s, 10), 1e-3);
  close(learningRate(s, 60), 5e-4);
  close(learningRate(s, 110), 0);
});

test('linear decay and constant', () => {
  close(learningRate({ kind: 'linear', lr: 2, warmupSteps: 0, totalSteps: 100 }, 25), 1.5);
  close(learningRate({ kind: 'constant', lr: 2, warmupSteps: 4, totalSteps: 100 }, 77), 2);
});
