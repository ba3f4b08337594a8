// Training the families: the MAP head's gradient by finite differences, and one fine-tuning step of every family
// (from its timm file, with a new random head) that moves every parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Value } from '../../src/graph/graph.ts';
import { withNewHead } from '../../src/model/head.ts';
import { initParameters } from '../../src/model/init.ts';
import { mapPool } from '../../src/model/map-head.ts';
import { relPosBias, tableRows } from '../../src/model/rel-pos-bias.ts';
import { linear } from '../../src/ops/nn.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { TrainSession } from '../../src/runtime/train-session.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { fdCheck, randn } from '../ops/fd-check.ts';
import { FAMILIES } from './family-fixtures.ts';

test('MAP pooling: gradients for the tokens and every head parameter match finite differences', async () => {
  const d = 4;
  const names = ['attn_pool.latent', 'attn_pool.q.weight', 'attn_pool.q.bias', 'attn_pool.kv.weight', 'attn_pool.kv.bias',
    'attn_pool.proj.weight', 'attn_pool.proj.bias', 'attn_pool.norm.weight', 'attn_pool.norm.bias',
    'attn_pool.mlp.fc1.weight', 'attn_pool.mlp.fc1.bias', 'attn_pool.mlp.fc2.weight', 'attn_pool.mlp.fc2.bias'];
  const shapes = [[1, 1, d], [d, d], [d], [2 * d, d], [2 * d], [d, d], [d], [d], [d], [6, d], [6], [d, 6], [d]];
  await fdCheck([{ shape: [2, 5, d] }, ...shapes.map((shape, i) => ({ shape, name: names[i], data: randn(shape, 50 + i) }))], (x, ...ps) => {
    const byName = new Map(names.map((n, i) => [n, ps[i]!]));
    const param = (n: string): Value => byName.get(n)!;
    const dense = (v: Value, layer: string) => linear(v, param(`${layer}.weight`), param(`${layer}.bias`));
    return mapPool(x, 2, 1e-6, 'gelu_tanh', { param, dense });
  });
});

test('relative position bias: the table\'s gradient (a scatter-add over repeated offsets) matches finite differences', async () => {
  await fdCheck([{ shape: [tableRows(3), 2] }], (table) => relPosBias(table, 3));
});

const steps = [
  ['dinov2_reg', {}], ['dinov2_swiglu', {}], ['deit_distilled', {}], ['clip', { mlp: 'quick_gelu' }], ['siglip', {}], ['beit', {}],
  ['dinov2_cls/hf', {}], // pool 'token_avg', from transformers' classifier
] as const;
for (const [name, overrides] of steps) {
  test(`${name}: a fine-tuning step from the checkpoint changes every parameter`, async () => {
    const path = name.endsWith('/hf') ? `${FAMILIES}${name}` : `${FAMILIES}${name}/timm.safetensors`;
    const c = loadCheckpoint(path, { numHeads: 2, ...overrides });
    const { config, weights } = withNewHead(c.config, c.weights, 3);
    // a random head, so that gradients reach the backbone in the first step (a zero head passes none back)
    const init = initParameters(config, { seed: 3 });
    const params = new Map([...weights].map(([k, v]) => [k, k.startsWith('head') ? init.get(k)! : v]));
    const s = await TrainSession.create(config, params, { engine: nodeEngine, batch: 2, optimizer: { kind: 'sgd', momentum: 0.9 }, threads: 1 });
    const images = Float32Array.from(randn([2, 3, 28, 28], 7));
    const res = await s.step(images, BigInt64Array.of(0n, 2n), 0.1);
    assert.ok(Number.isFinite(res.loss) && res.gradNorm > 0);
    for (const [k, after] of s.parameters()) {
      const before = params.get(k)!.data as Float32Array;
      assert.ok((after.data as Float32Array).some((v, i) => v !== before[i]), `${k} did not change`);
    }
    await s.release();
  });
}
