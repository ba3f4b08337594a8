// GatherElements and ScatterElements (reduction 'add') gradient rules against finite differences in float64.
import { test } from 'node:test';
import { gatherElements, scatterAddElements } from '../../src/ops/scatter.ts';
import { fdCheck } from './fd-check.ts';

// Repeated indices: the scatter accumulates them, the gather's gradient must too.
const idx = [0, 2, 2, 1, 0, 0, 3, 1];

test('GatherElements along axis 1 with repeated indices', async () => {
  await fdCheck([{ shape: [2, 4] }, { shape: [2, 4], dtype: 'int64', data: idx }], (x, i) => gatherElements(x, i!, 1));
});

test('ScatterElements (add) along axis 0 and 1: data and updates', async () => {
  await fdCheck([{ shape: [4, 2] }, { shape: [4, 2], dtype: 'int64', data: [0, 2, 2, 1, 3, 0, 3, 1] }, { shape: [4, 2] }], (d, i, u) =>
    scatterAddElements(d, i!, u!, 0),
  );
  await fdCheck([{ shape: [2, 5] }, { shape: [2, 4], dtype: 'int64', data: idx }, { shape: [2, 4] }], (d, i, u) => scatterAddElements(d, i!, u!, 1));
});
