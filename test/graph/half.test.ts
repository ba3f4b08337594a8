// float32 → binary16 rounding against the definition (the nearest half, ties to the even significand), over every
// half and the midpoints between neighbours, and the special values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHalf, halfBits, halfValue, toHalf } from '../../src/graph/half.ts';

test('every half converts to float32 and back to the same bits', () => {
  for (let h = 0; h < 0x10000; h++) {
    const x = halfValue(h);
    if (Number.isNaN(x)) assert.equal(h & 0x7c00, 0x7c00, `NaN only from exponent 31: ${h.toString(16)}`);
    else assert.equal(halfBits(x), h, `0x${h.toString(16)} → ${x}`);
  }
});

test('values between two halves round to the nearer, ties to the even significand, overflow to Infinity', () => {
  // positive finite halves in order: each midpoint rounds to whichever of its neighbours has an even significand
  for (let h = 0; h < 0x7bff; h++) {
    const [lo, hi] = [halfValue(h), halfValue(h + 1)];
    const mid = (lo + hi) / 2; // exact in float32: halves have 11 significant bits
    assert.equal(halfBits(mid), h % 2 === 0 ? h : h + 1, `midpoint of 0x${h.toString(16)}`);
    const [below, above] = [lo + (hi - lo) * 0.25, lo + (hi - lo) * 0.75];
    assert.equal(halfBits(below), h);
    assert.equal(halfBits(above), h + 1);
    assert.equal(halfBits(-below), h | 0x8000, 'the sign is its own bit');
  }
  assert.equal(halfBits(65504), 0x7bff, 'the largest half');
  assert.equal(halfBits(65519.99), 0x7bff, 'below the midpoint to the next power of two: stays finite');
  assert.equal(halfBits(65520), 0x7c00, 'the midpoint rounds to even, which is Infinity');
  assert.equal(halfBits(1e9), 0x7c00);
  assert.equal(halfBits(-Infinity), 0xfc00);
  assert.equal(halfBits(2 ** -25), 0, 'half the smallest subnormal: a tie, to even (zero)');
  assert.equal(halfBits(2 ** -25 * 1.0001), 1);
  assert.equal(halfBits(1e-10), 0);
  assert.equal(halfBits(-0), 0x8000);
  assert.ok(Number.isNaN(halfValue(halfBits(NaN))));
});

test('toHalf and fromHalf map arrays', () => {
  const x = Float32Array.of(1, -2.5, 0.1, 3e5);
  const h = toHalf(x);
  assert.deepEqual([...h], [0x3c00, 0xc100, 0x2e66, 0x7c00]);
  assert.deepEqual([...fromHalf(h)], [1, -2.5, 0.0999755859375, Infinity]);
});
