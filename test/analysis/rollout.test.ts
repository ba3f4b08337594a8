// Attention maps against the float64 numpy reference computed from timm's attention probabilities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attentionLayers, attentionMap, headMaps, parseAttentionMethod, registerShare } from '../../src/analysis/rollout.ts';
import { expected } from '../fixtures.ts';
import { assertClose, reference, row } from './reference.ts';

const p16 = expected('micro_p16_224');
const p16Layers = attentionLayers(Object.fromEntries(p16), 2);
const noclassLayers = [reference('noclass.attn.0'), reference('noclass.attn.1')];
const TOKEN = { classToken: true, pool: 'token' } as const;
const NO_CLASS = { classToken: false, pool: 'avg' } as const;
// The references are float64 stored as float32 (~1e-10 here), and map values are ~1e-3: compare tightly.
const TOL = 1e-7;

test('rollout from the class token matches the reference (micro_p16_224)', () => {
  for (const b of [0, 1]) {
    const map = attentionMap(p16Layers, b, { kind: 'rollout' }, TOKEN);
    assert.equal(map.grid, 14);
    assert.equal(map.readout, 'class-token');
    assertClose(map.values, row(reference('p16.rollout'), b), TOL, `rollout image ${b}`);
  }
});

test('last-layer and single-head maps match the reference', () => {
  for (const b of [0, 1]) {
    assertClose(attentionMap(p16Layers, b, { kind: 'last' }, TOKEN).values, row(reference('p16.last'), b), TOL, 'last');
    const head = attentionMap(p16Layers, b, { kind: 'head', layer: 1, head: 0 }, TOKEN);
    assertClose(head.values, row(reference('p16.head.1.0'), b), TOL, 'head 1.0');
    assertClose(headMaps(p16Layers[1]!, b, TOKEN)[0]!.values, head.values, 0, 'headMaps agrees with head:1:0');
  }
});

test('without a class token, rollout is read out as the mean over all tokens', () => {
  for (const b of [0, 1]) {
    const map = attentionMap(noclassLayers, b, { kind: 'rollout' }, NO_CLASS);
    assert.equal(map.readout, 'mean-tokens');
    assert.equal(map.grid, 4);
    assertClose(map.values, row(reference('noclass.rollout'), b), TOL, `noclass rollout ${b}`);
  }
  // Rollout rows are distributions; the mean readout of a model without prefix tokens keeps all the mass.
  const sum = attentionMap(noclassLayers, 0, { kind: 'rollout' }, NO_CLASS).values.reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(sum - 1) < 1e-6, `sum ${sum}`);
});

test('an average-pooled model with a class token is read out from the mean of its patch rows', () => {
  // Independent check: the full rollout matrix R = Â_2·Â_1, then the mean of its patch rows over patch columns.
  const t = 197;
  const hat = (layer: number): Float64Array => {
    const a = p16.get(`attn.${layer}`)!.data as Float32Array; // image 0: heads 0 and 1
    const m = new Float64Array(t * t);
    for (let i = 0; i < t; i++) {
      let sum = 0;
      for (let j = 0; j < t; j++) sum += m[i * t + j] = (a[i * t + j]! + a[t * t + i * t + j]!) / 2 + (i === j ? 1 : 0);
      for (let j = 0; j < t; j++) m[i * t + j]! /= sum;
    }
    return m;
  };
  const [a1, a2] = [hat(0), hat(1)];
  const want = new Float64Array(t - 1);
  for (let i = 1; i < t; i++) {
    for (let k = 0; k < t; k++) {
      const r = a2[i * t + k]! / (t - 1);
      for (let j = 1; j < t; j++) want[j - 1]! += r * a1[k * t + j]!;
    }
  }
  const map = attentionMap(p16Layers, 0, { kind: 'rollout' }, { classToken: true, pool: 'avg' });
  assert.equal(map.readout, 'mean-tokens');
  assertClose(map.values, want, 1e-12, 'mean-of-patches rollout');
});

test('parseAttentionMethod accepts rollout|last|head:L:H within the model and names the bad value', () => {
  assert.deepEqual(parseAttentionMethod('rollout', 12, 3), { kind: 'rollout' });
  assert.deepEqual(parseAttentionMethod('last', 12, 3), { kind: 'last' });
  assert.deepEqual(parseAttentionMethod('head:11:2', 12, 3), { kind: 'head', layer: 11, head: 2 });
  assert.throws(() => parseAttentionMethod('mean', 12, 3), /unknown attention method 'mean' \(expected rollout\|last\|head:L:H\)/);
  assert.throws(() => parseAttentionMethod('head:12:0', 12, 3), /out of range: the model has layers 0\.\.11 and heads 0\.\.2/);
  assert.throws(() => parseAttentionMethod('head:1', 12, 3), /unknown attention method/);
});

test('attentionLayers names a missing output', () => {
  assert.throws(() => attentionLayers({}, 1), /no output attn\.0/);
});

test("registerShare: the class token's attention mass on DINOv2's registers (shown apart from the patch map)", () => {
  const t = 1 + 2 + 4; // class, 2 registers, a 2×2 grid
  const data = new Float32Array(2 * t * t); // 2 heads
  for (let h = 0; h < 2; h++) {
    for (let i = 0; i < t; i++) data[(h * t + i) * t + i] = 1;
    const row = data.subarray(h * t * t, h * t * t + t);
    row.fill(0);
    row.set(h === 0 ? [0.2, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1] : [0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  }
  const layer = { dtype: 'float32' as const, shape: [1, 2, t, t], data };
  const model = { classToken: true, pool: 'token' as const, regTokens: 2 };
  assert.ok(Math.abs(registerShare(layer, 0, model) - 0.3) < 1e-6); // heads' mean of 0.4 and 0.2
  assert.equal(registerShare(layer, 0, { ...model, regTokens: 0 }), 0);
});
