// The small tensors' packed update (src/model/update-packing.ts): how tensors are grouped, that a pack splits back
// into exactly its members (through onnxruntime, in Splits a WebGPU shader can bind), and that a step mixing packed
// and single tensors updates every element as AdamW with clipping does, computed here on the host from the step's own
// gradients. (The PyTorch fixtures, all of whose tensors are packed, are test/model/step-graph.test.ts's.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optimizerScalarFeeds } from '../../src/autodiff/optim.ts';
import { Graph } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { type Tensor, numel } from '../../src/graph/tensor.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { buildStepGraph } from '../../src/model/step-graph.ts';
import { PACK_BELOW, pack, packBelowFor, unpack, updateGroups } from '../../src/model/update-packing.ts';
import { Rng } from '../../src/rng.ts';
import { Session } from '../../src/runtime/session.ts';

test('updateGroups: each large tensor alone, in order; the small ones in one pack per decay setting', () => {
  const shapes = new Map<string, number[]>([
    ['a.weight', [256, 256]], // 65,536 elements: PACK_BELOW, so alone
    ['a.bias', [256]],
    ['b.weight', [255, 256]],
    ['norm.weight', [256]],
    ['c.weight', [512, 512]],
    ['d.weight', [3, 4]],
  ]);
  assert.equal(PACK_BELOW, 65_536);
  const decay = (n: string) => n.endsWith('.weight') && !n.startsWith('norm');
  const groups = updateGroups(shapes, decay, PACK_BELOW).map((g) => [g.name, g.members.map((m) => m.name), g.decay]);
  assert.deepEqual(groups, [
    ['a.weight', ['a.weight'], true],
    ['c.weight', ['c.weight'], true],
    ['packed.decay', ['b.weight', 'd.weight'], true],
    ['packed.no_decay', ['a.bias', 'norm.weight'], false],
  ]);
  // a pack of one is that tensor, under its own name
  assert.deepEqual(updateGroups(new Map([['x', [3]], ['y', [2, 2]]]), (n) => n === 'y', PACK_BELOW).map((g) => g.name), ['y', 'x']);
  // below 0: every tensor alone (the CPU's update)
  assert.deepEqual(updateGroups(shapes, decay, 0).map((g) => g.name), [...shapes.keys()]);
  assert.equal(packBelowFor('webgpu'), PACK_BELOW);
  assert.equal(packBelowFor('cpu'), 0);
});

test('pack then unpack gives back every member, named, through Splits of at most 7 parts', async () => {
  const shapes = Array.from({ length: 23 }, (_, i) => (i % 3 === 0 ? [i + 1] : i % 3 === 1 ? [2, i + 1] : [1, 3, i + 1]));
  const group = { name: 'packed.decay', members: shapes.map((shape, i) => ({ name: `t${i}`, shape })), decay: true };
  const g = new Graph('roundtrip');
  const inputs = group.members.map((m) => g.input(m.name, 'float32', m.shape));
  for (const v of unpack(group, pack(group, inputs), (n) => `out.${n}`)) g.output(v);
  const splits = g.nodes.filter((n) => n.opType === 'Split');
  assert.ok(splits.length > 1 && splits.every((n) => n.outputs.length <= 7), `Splits of ${splits.map((n) => n.outputs.length)} parts`);
  const rng = new Rng(3);
  const feeds = Object.fromEntries(
    group.members.map((m) => [
      m.name,
      { dtype: 'float32' as const, shape: m.shape, data: Float32Array.from({ length: numel(m.shape) }, () => rng.normal()) },
    ]),
  );
  const session = await Session.create(toOnnx(g), { threads: 1 });
  const out = await session.run(feeds);
  await session.release();
  for (const m of group.members) {
    assert.deepEqual(out[`out.${m.name}`]!.shape, m.shape, m.name);
    assert.deepEqual(out[`out.${m.name}`]!.data, feeds[m.name]!.data, m.name);
  }
});

test('a step with packed and single tensors is AdamW with clipping, element for element', async () => {
  // fc1 and fc2 have 64 × 1,024 = PACK_BELOW elements, so they update alone; every other tensor is packed
  const cfg = checkConfig({
    ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 64, depth: 1, numHeads: 2, mlpDim: 1024, numClasses: 3,
  });
  const optimizer = { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 } as const;
  const [lr, clip, batch] = [1e-2, 0.05, 4];
  const spec = buildStepGraph(cfg, { batch, optimizer, clipNorm: clip, exposeGradients: true, packBelow: PACK_BELOW });
  const producer = (name: string) => spec.graph.nodes.find((n) => n.outputs.some((o) => o.name === name))!.opType;
  assert.equal(producer('new.m.blocks.0.mlp.fc1.weight'), 'Add', 'fc1 updates alone');
  assert.equal(producer('new.m.blocks.0.attn.qkv.weight'), 'Reshape', 'qkv comes out of a pack');
  assert.equal(producer('new.m.blocks.0.norm1.bias'), 'Split', 'a 1-D tensor is named by its Split');

  const rng = new Rng(7);
  const params = initParameters(cfg, { seed: 1 });
  for (const [n, p] of params) params.set(n, { ...p, data: Float32Array.from(p.data as Float32Array, (v) => v + 0.02 * rng.normal()) });
  const feeds: Record<string, Tensor> = { ...optimizerScalarFeeds(optimizer, lr, 1) };
  for (const [n, p] of params) {
    feeds[n] = p;
    for (const s of ['m', 'v']) feeds[`${s}.${n}`] = { dtype: 'float32', shape: p.shape, data: new Float32Array(numel(p.shape)) };
  }
  feeds.images = { dtype: 'float32', shape: [batch, 1, 8, 8], data: Float32Array.from({ length: batch * 64 }, () => rng.normal()) };
  feeds.labels = { dtype: 'int64', shape: [batch], data: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 3)) };
  const session = await Session.create(toOnnx(spec.graph), { threads: 1 });
  const out = await session.run(feeds);
  await session.release();

  // the host's AdamW step 1 from the step's own (unclipped) gradients, in float64
  const grads = new Map([...params.keys()].map((n) => [n, out[`grad.${n}`]!.data as Float32Array]));
  const norm = Math.sqrt([...grads.values()].reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
  assert.ok(Math.abs((out.grad_norm!.data as Float32Array)[0]! - norm) <= 1e-6 * norm, 'grad_norm');
  const coef = Math.min(1, clip / (norm + 1e-6));
  assert.ok(coef < 0.5, `the clip acts (coefficient ${coef})`);
  const decayed = (n: string) => !(n.endsWith('.bias') || n === 'pos_embed' || n === 'cls_token' || /norm/.test(n));
  for (const [n, p] of params) {
    const g = grads.get(n)!;
    const [newP, newM, newV] = ['new.', 'new.m.', 'new.v.'].map((k) => out[`${k}${n}`]!.data as Float32Array);
    const scale = Math.max(...(p.data as Float32Array).map(Math.abs), 1e-3);
    for (let i = 0; i < g.length; i++) {
      const gc = g[i]! * coef;
      const m = 0.1 * gc;
      const v = 0.001 * gc * gc;
      const p0 = (p.data as Float32Array)[i]! * (decayed(n) ? 1 - lr * 0.05 : 1);
      const want = p0 - (lr / 0.1) * (m / (Math.sqrt(v) / Math.sqrt(0.001) + 1e-8));
      assert.ok(Math.abs(newM![i]! - m) <= 1e-6 * Math.abs(m) + 1e-12, `${n}[${i}] m ${newM![i]} vs ${m}`);
      assert.ok(Math.abs(newV![i]! - v) <= 1e-5 * v + 1e-16, `${n}[${i}] v ${newV![i]} vs ${v}`);
      // float32 rounding of p (where |g| is near eps, AdamW's step is the host's too: it starts from the same gradient)
      assert.ok(Math.abs(newP![i]! - want) <= 1e-6 * scale, `${n}[${i}] p ${newP![i]} vs ${want}`);
    }
  }
});
