// LoRA adapters: the adapted layer's gradients against finite differences, the initialisation (B zero: the adapted
// model starts equal to the frozen one), and merging (the merged plain model gives the adapted model's logits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { StateDict, Tensor } from '../../src/graph/tensor.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { checkLora, loraDelta, loraShapes, mergeLora, trainingShapes, withLoraAdapters } from '../../src/model/lora.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { buildEvalGraph } from '../../src/model/step-graph.ts';
import { add } from '../../src/ops/elementwise.ts';
import { linear } from '../../src/ops/nn.ts';
import { Session } from '../../src/runtime/session.ts';
import { Rng } from '../../src/rng.ts';
import { fdCheck } from '../ops/fd-check.ts';

const cfg = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 2, numHeads: 2, mlpDim: 24, numClasses: 3 });

test('adapted linear layer y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ: gradients of x, W, b, A, B match finite differences', async () => {
  for (const scale of [1, 0.75]) {
    await fdCheck(
      [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }, { shape: [2, 5] }, { shape: [4, 2] }],
      (x, w, b, a, bb) => add(linear(x, w, b), loraDelta(x, a, bb, scale)),
    );
  }
});

test('adapter shapes, and options checked with the allowed set named', () => {
  const shapes = loraShapes(cfg, { rank: 4, targets: ['qkv', 'fc2'] });
  assert.deepEqual([...shapes], [
    ['blocks.0.attn.qkv.lora_A', [4, 16]], ['blocks.0.attn.qkv.lora_B', [48, 4]],
    ['blocks.0.mlp.fc2.lora_A', [4, 24]], ['blocks.0.mlp.fc2.lora_B', [16, 4]],
    ['blocks.1.attn.qkv.lora_A', [4, 16]], ['blocks.1.attn.qkv.lora_B', [48, 4]],
    ['blocks.1.mlp.fc2.lora_A', [4, 24]], ['blocks.1.mlp.fc2.lora_B', [16, 4]],
  ]);
  assert.deepEqual([...trainingShapes(cfg, { rank: 2 }).keys()].slice(-2), ['blocks.1.attn.proj.lora_A', 'blocks.1.attn.proj.lora_B']);
  assert.throws(() => checkLora({ rank: 0 }), /rank must be a positive integer/);
  assert.throws(() => checkLora({ rank: 2, targets: ['qkv', 'k' as never] }), /unknown LoRA target 'k' \(expected qkv\|proj\|fc1\|fc2\)/);
  assert.throws(() => checkLora({ rank: 2, alpha: -1 }), /alpha must be a positive number/);
});

async function logits(weights: StateDict, lora?: Parameters<typeof mergeLora>[2]): Promise<Float32Array> {
  const spec = buildEvalGraph(cfg, { batch: 4, lora });
  const s = await Session.create(toOnnx(spec.graph), { threads: 1 });
  const rng = new Rng(5);
  const images: Tensor = { dtype: 'float32', shape: [4, 1, 8, 8], data: Float32Array.from({ length: 256 }, () => rng.normal()) };
  const feeds: Record<string, Tensor> = { images, labels: { dtype: 'int64', shape: [4], data: new BigInt64Array(4) } };
  for (const n of spec.params.keys()) feeds[n] = weights.get(n)!;
  const out = (await s.run(feeds)).logits!.data as Float32Array;
  await s.release();
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('fresh adapters: A random (U(±1/√in)), B zero, so the adapted model equals the frozen one', async () => {
  const base = initParameters(cfg, { seed: 1 });
  const lora = { rank: 4, targets: ['qkv', 'proj', 'fc1', 'fc2'] as const };
  const w = withLoraAdapters(cfg, base, lora);
  const a = w.get('blocks.0.mlp.fc1.lora_A')!.data as Float32Array;
  assert.ok(a.every((v) => Math.abs(v) <= 1 / 4) && new Set(a).size === a.length, 'A is spread over U(±1/√16)');
  assert.ok((w.get('blocks.1.attn.qkv.lora_B')!.data as Float32Array).every((v) => v === 0));
  assert.equal(withLoraAdapters(cfg, w, lora), w, 'adapters already there are kept');
  const partial = new Map(w);
  partial.delete('blocks.1.attn.qkv.lora_B');
  assert.throws(() => withLoraAdapters(cfg, partial, lora), /hold 15 of 16 LoRA adapter tensors/);
  assert.deepEqual(await logits(w, lora), await logits(base));
});

test('merging: the plain merged model gives the adapted model’s logits to 1e-5', async () => {
  const lora = { rank: 3, alpha: 6, targets: ['qkv', 'proj', 'fc1', 'fc2'] as const };
  const w = withLoraAdapters(cfg, initParameters(cfg, { seed: 2 }), lora);
  const rng = new Rng(3);
  for (const [n, t] of w) if (n.endsWith('.lora_B')) (t.data as Float32Array).forEach((_, i, d) => (d[i] = rng.normal(0, 0.3)));
  const adapted = await logits(w, lora);
  const merged = mergeLora(cfg, w, lora);
  assert.deepEqual([...merged.keys()], [...parameterShapes(cfg).keys()], 'a plain checkpoint: the model’s tensors only, in order');
  const plain = await logits(merged);
  const base = await logits(initParameters(cfg, { seed: 2 }));
  assert.ok(maxDiff(adapted, base) > 1e-2, 'the adapters change the logits (the check is not vacuous)');
  assert.ok(maxDiff(adapted, plain) <= 1e-5, `merged logits differ by ${maxDiff(adapted, plain)}`);
});
