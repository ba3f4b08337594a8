// The training graph's options beyond the plain step: dropout / stochastic-depth masks, soft targets, frozen
// parameters and the in-graph EMA of the weights, through TrainSession.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateDict } from '../../src/graph/tensor.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { TrainSession, type TrainSessionOptions } from '../../src/runtime/train-session.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { buildEvalGraph, buildStepGraph } from '../../src/model/step-graph.ts';
import { mergeLora } from '../../src/model/lora.ts';
import { selectionRule } from '../../src/model/trainable.ts';

const cfg = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 2, numHeads: 2, mlpDim: 32, numClasses: 3 });
const B = 4;
const rng = new Rng(11);
const x = Float32Array.from({ length: B * 64 }, () => rng.normal());
const y = BigInt64Array.of(0n, 2n, 1n, 2n);
const init = initParameters(cfg, { seed: 3 });
const sgd = { kind: 'sgd', momentum: 0.9 } as const;
const adamw = { kind: 'adamw', weightDecay: 0.05 } as const;
const base: TrainSessionOptions = { engine: nodeEngine, batch: B, optimizer: sgd, clipNorm: 1, threads: 1 };

const f32 = (t: { data: unknown }) => t.data as Float32Array;
function maxDiff(a: StateDict, b: StateDict, names: Iterable<string> = a.keys()): number {
  let m = 0;
  for (const n of names) f32(a.get(n)!).forEach((v, i) => (m = Math.max(m, Math.abs(v - f32(b.get(n)!)[i]!))));
  return m;
}
const ones = (specs: readonly { name: string; shape: readonly number[] }[], value = 1) =>
  new Map(specs.map((s) => [s.name, new Uint8Array(B * s.shape.reduce((a, d) => a * d, 1)).fill(value)]));

test('dropout and drop path add one uint8 mask input per site; none at rate 0, none in the eval graph', () => {
  const spec = buildStepGraph(cfg, { batch: B, optimizer: sgd, dropout: 0.1, dropPath: 0.2 });
  const got = Object.fromEntries(spec.masks.map((m) => [m.name, [m.shape, m.rate]]));
  const tokens = [5, 16];
  assert.deepEqual(got, {
    'mask.pos': [tokens, 0.1],
    'mask.blocks.0.attn': [tokens, 0.1],
    'mask.blocks.0.mlp.fc1': [[5, 32], 0.1],
    'mask.blocks.0.mlp.fc2': [tokens, 0.1],
    'mask.blocks.1.attn': [tokens, 0.1],
    'mask.blocks.1.mlp.fc1': [[5, 32], 0.1],
    'mask.blocks.1.mlp.fc2': [tokens, 0.1],
    // timm's linear rule: the first block's rate is 0 (no mask), the last block's is the full rate.
    'mask.blocks.1.drop_path1': [[1, 1], 0.2],
    'mask.blocks.1.drop_path2': [[1, 1], 0.2],
  });
  const input = spec.graph.inputs.find((v) => v.name === 'mask.blocks.0.mlp.fc1')!;
  assert.equal(input.dtype, 'uint8');
  assert.deepEqual(input.shape, [B, 5, 32]);
  assert.deepEqual(buildStepGraph(cfg, { batch: B, optimizer: sgd }).masks, []);
  assert.ok(!buildEvalGraph(cfg).graph.inputs.some((v) => v.name.startsWith('mask.')));
});

test('keep-all masks at a negligible rate give the noiseless loss; dropping the last block equals the shallower model', async () => {
  const clean = await TrainSession.create(cfg, init, base);
  const cleanLoss = (await clean.evaluate(x, y)).loss;
  const noisy = await TrainSession.create(cfg, init, { ...base, dropout: 1e-7, dropPath: 1e-7 });
  assert.ok(Math.abs((await noisy.step(x, y, 0, ones(noisy.masks))).loss - cleanLoss) < 1e-5);
  await assert.rejects(noisy.step(x, y, 0), /missing keep-mask 'mask.pos'/);

  const deep = await TrainSession.create(cfg, init, { ...base, dropPath: 0.5 });
  assert.deepEqual(deep.masks.map((m) => m.name), ['mask.blocks.1.drop_path1', 'mask.blocks.1.drop_path2']);
  const dropped = (await deep.step(x, y, 0, ones(deep.masks, 0))).loss;
  const shallow = checkConfig({ ...cfg, depth: 1 });
  const one = await TrainSession.create(shallow, new Map([...init].filter(([n]) => !n.startsWith('blocks.1.'))), base);
  assert.ok(Math.abs(dropped - (await one.evaluate(x, y)).loss) < 1e-6);
  for (const s of [clean, noisy, deep, one]) await s.release();
});

test('soft targets equal to smoothed one-hot labels train exactly as label smoothing does', async () => {
  const eps = 0.1;
  const targets = Float32Array.from({ length: B * 3 }, (_, i) => (BigInt(i % 3) === y[Math.floor(i / 3)]! ? 1 - eps : 0) + eps / 3);
  const labels = await TrainSession.create(cfg, init, { ...base, optimizer: adamw, labelSmoothing: eps });
  const soft = await TrainSession.create(cfg, init, { ...base, optimizer: adamw, softTargets: true });
  for (let i = 0; i < 2; i++) {
    const a = await labels.step(x, y, 1e-2);
    const b = await soft.step(x, targets, 1e-2);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6 && a.correct === b.correct);
  }
  assert.ok(maxDiff(labels.parameters(), soft.parameters()) < 1e-6);
  await assert.rejects(soft.step(x, y, 1e-2), /takes soft targets/);
  await assert.rejects(labels.step(x, targets, 1e-2), /expected int64 labels/);
  await labels.release();
  await soft.release();
});

test('a frozen backbone is not updated and has no optimizer state; accumulation agrees', async () => {
  const head = (n: string) => n.startsWith('head.');
  const one = await TrainSession.create(cfg, init, { ...base, optimizer: adamw, trainable: head, exposeGradients: true });
  const two = await TrainSession.create(cfg, init, { ...base, optimizer: adamw, trainable: head, gradAccum: 2 });
  for (let i = 0; i < 2; i++) {
    await one.step(x, y, 1e-2);
    await two.step(x, y, 1e-2);
  }
  assert.deepEqual(one.trainable, ['head.weight', 'head.bias']);
  assert.deepEqual([...one.lastGradients().keys()], ['head.weight', 'head.bias']);
  const p = one.parameters();
  const backbone = [...init.keys()].filter((n) => !head(n));
  assert.equal(maxDiff(p, init, backbone), 0);
  assert.ok(maxDiff(p, init, ['head.weight']) > 1e-4);
  const st = one.state();
  assert.ok(st.has('m.head.weight') && !st.has('m.pos_embed') && st.has('pos_embed'));
  assert.ok(maxDiff(two.parameters(), p) < 1e-5);
  // The frozen values resume from state() like the rest.
  const again = await TrainSession.create(cfg, initParameters(cfg, { seed: 99 }), { ...base, optimizer: adamw, trainable: head });
  again.load(st);
  assert.equal(maxDiff(again.parameters(), p), 0);
  for (const s of [one, two, again]) await s.release();
});

test('LoRA in a session: fresh adapters, the base frozen, accumulation agrees, evaluation sees the adapters', async () => {
  const lora = { rank: 2, targets: ['qkv', 'fc2'] as const };
  const opts = { ...base, optimizer: adamw, lora, trainable: selectionRule(cfg, { lora }) };
  const one = await TrainSession.create(cfg, init, opts);
  const two = await TrainSession.create(cfg, init, { ...opts, gradAccum: 2 });
  for (let i = 0; i < 2; i++) {
    await one.step(x, y, 1e-2);
    await two.step(x, y, 1e-2);
  }
  assert.deepEqual(one.trainable.slice(0, 4), ['head.weight', 'head.bias', 'blocks.0.attn.qkv.lora_A', 'blocks.0.attn.qkv.lora_B']);
  const p = one.parameters();
  assert.equal(maxDiff(p, init, [...init.keys()].filter((n) => !n.startsWith('head.'))), 0, 'the model’s own weights are frozen');
  assert.ok(
    maxDiff(p, new Map([...p].map(([n, t]) => [n, { ...t, data: new Float32Array(t.data.length) }])), ['blocks.1.mlp.fc2.lora_B']) > 0,
    'B learnt',
  );
  assert.ok(maxDiff(two.parameters(), p) < 1e-5);
  const plain = await TrainSession.create(cfg, mergeLora(cfg, p, lora), { ...base, optimizer: adamw });
  const [adapted, merged] = [await one.evaluate(x, y), await plain.evaluate(x, y)];
  assert.ok(adapted.logits.data.every((v, i) => Math.abs(v - merged.logits.data[i]!) < 1e-5), 'the eval graph has the adapters');
  for (const s of [one, two, plain]) await s.release();
});

test('the EMA starts at the weights, follows ema ← d·ema + (1 − d)·new, evaluates, saves and resumes', async () => {
  const d = 0.9;
  const s = await TrainSession.create(cfg, init, { ...base, ema: d });
  assert.equal(maxDiff(s.parameters({ ema: true }), init), 0);
  assert.equal((await s.evaluate(x, y, { ema: true })).loss, (await s.evaluate(x, y)).loss);
  let ema = init;
  for (let i = 0; i < 3; i++) {
    await s.step(x, y, 0.05);
    const now = s.parameters();
    ema = new Map([...ema].map(([n, t]) => [n, { ...t, data: f32(t).map((v, k) => d * v + (1 - d) * f32(now.get(n)!)[k]!) }]));
  }
  assert.ok(maxDiff(s.parameters({ ema: true }), ema) < 1e-6);
  assert.notEqual((await s.evaluate(x, y, { ema: true })).loss, (await s.evaluate(x, y)).loss);
  const st = s.state();
  assert.ok(st.has('ema.head.bias') && st.has('momentum.head.bias'));
  const accum = await TrainSession.create(cfg, init, { ...base, ema: d, gradAccum: 2 });
  accum.load(st);
  assert.equal(maxDiff(accum.parameters({ ema: true }), s.parameters({ ema: true })), 0);
  const partial = new Map(st);
  partial.delete('ema.pos_embed');
  assert.throws(() => accum.load(partial), /EMA state is incomplete: missing ema.pos_embed/);
  accum.load(init); // no EMA in the state: it restarts at the weights
  assert.equal(maxDiff(accum.parameters({ ema: true }), init), 0);
  const plain = await TrainSession.create(cfg, init, base);
  assert.throws(() => plain.parameters({ ema: true }), /keeps no EMA/);
  for (const t of [s, accum, plain]) await t.release();
});
