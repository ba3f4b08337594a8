import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/rng.ts';

test('Rng: seeded, state round-trips, uniform in [0, 1), normal moments', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => new Rng(43).nextU32()));
  const saved = a.state();
  const c = Rng.fromState(saved);
  assert.deepEqual(Array.from({ length: 5 }, () => a.uniform()), Array.from({ length: 5 }, () => c.uniform()));
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /not all zero/);

  const r = new Rng(1);
  let s = 0;
  let s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.05, `var ${s2 / n}`);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[r.int(5)]++;
  assert.ok(counts.every((k) => k > 900 && k < 1100), `${counts}`);
  assert.deepEqual(r.shuffle([1, 2, 3, 4]).sort(), [1, 2, 3, 4]);
});

test('Rng.fillBernoulli: the same draws as nextU32 thresholded at p·2³², leaving the same state', () => {
  const a = new Rng(5);
  const b = new Rng(5);
  const out = new Uint8Array(1000);
  a.fillBernoulli(out, 0.3);
  assert.deepEqual(out, Uint8Array.from({ length: 1000 }, () => (b.nextU32() < 0.3 * 2 ** 32 ? 1 : 0)));
  assert.deepEqual(a.state(), b.state());
  assert.ok(Math.abs(out.reduce((s, v) => s + v, 0) / 1000 - 0.3) < 0.05);
});
