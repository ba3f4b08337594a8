import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearProbe } from '../../src/eval/linear-probe.ts';
import { clusters } from './helpers.ts';

test('linear probe trained in-graph separates Gaussian clusters, and its loss falls', async () => {
  const train = clusters({ classes: 4, dim: 10, perClass: 50, separation: 1.5, seed: 3 });
  const test = clusters({ classes: 4, dim: 10, perClass: 25, separation: 1.5, seed: 4, means: train.means });
  const losses: number[] = [];
  const r = await linearProbe(train, test, { epochs: 15, batch: 32, lr: 0.05, threads: 1, onEpoch: (_, __, loss) => losses.push(loss) });
  assert.equal(losses.length, 15);
  assert.ok(losses[0]! < Math.log(4) + 0.05, `first-epoch loss ${losses[0]} (zero init starts at log K)`);
  assert.ok(losses.at(-1)! < losses[0]! / 2, `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(r.accuracy > 0.95, `accuracy ${r.accuracy}`);
  assert.equal(r.weight.length, 40);
  assert.equal(r.bias.length, 4);
});

test('by default a small set gets enough epochs for 1,000 steps, a large one 30', async () => {
  const small = clusters({ classes: 2, dim: 4, perClass: 32, separation: 1.5, seed: 5 }); // 64 features: 2 steps of 32
  const r = await linearProbe(small, small, { batch: 32, threads: 1 });
  assert.equal(r.epochs, 500);
  const large = clusters({ classes: 2, dim: 4, perClass: 1024, separation: 1.5, seed: 6 }); // 2,048 features: 64 steps
  assert.equal((await linearProbe(large, small, { batch: 32, threads: 1 })).epochs, 30);
});

test('linear probe refuses mismatched feature dimensions', async () => {
  const train = clusters({ classes: 2, dim: 4, perClass: 5 });
  const test = clusters({ classes: 2, dim: 5, perClass: 5 });
  await assert.rejects(linearProbe(train, test), /feature dimension mismatch: train features have 4 values, test features 5/);
});
