import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccuracyMeter } from '../../src/eval/accuracy.ts';

test('top-1, top-5 and the confusion matrix', () => {
  const m = new AccuracyMeter(6);
  // Row 0: label 2 is best → top-1 hit. Row 1: label 0 ranks 6th → miss in both. Row 2: label 5 ranks 3rd.
  m.add(Float32Array.from([0, 1, 9, 2, 3, 4, 1, 8, 7, 6, 5, 10, 1, 2, 9, 8, 3, 7]), [2, 0, 5]);
  const r = m.result();
  assert.equal(r.n, 3);
  assert.equal(r.top1, 1 / 3);
  assert.equal(r.top5, 2 / 3);
  assert.equal(m.confusion[2 * 6 + 2], 1);
  assert.equal(m.confusion[0 * 6 + 5], 1);
  assert.equal(m.confusion[5 * 6 + 2], 1);
});
