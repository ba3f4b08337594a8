import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, defaultConfig, presets } from '../../src/model/config.ts';
import { initParameters, truncNormal } from '../../src/model/init.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { Rng } from '../../src/rng.ts';

const cfg = checkConfig({
  ...defaultConfig, imgSize: 32, patchSize: 4, inChans: 3, embedDim: 64, depth: 2, numHeads: 4, mlpDim: 128, numClasses: 10,
});

function stats(a: Float32Array): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const x of a) {
    s += x;
    s2 += x * x;
    m = Math.max(m, Math.abs(x));
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), maxAbs: m };
}

test('initParameters: every parameter, in parameterShapes order, with its shape', () => {
  const p = initParameters(cfg, { seed: 1 });
  const shapes = parameterShapes(cfg);
  assert.deepEqual([...p.keys()], [...shapes.keys()]);
  for (const [n, t] of p) {
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.shape, shapes.get(n));
    assert.ok([...(t.data as Float32Array)].every(Number.isFinite), n);
  }
});

test('initParameters: timm defaults (trunc-normal .02, cls 1e-6, zero biases, LayerNorm ones/zeros)', () => {
  const p = initParameters(cfg, { seed: 2, patchEmbed: 'trunc-normal' });
  const data = (n: string) => p.get(n)!.data as Float32Array;
  for (const n of ['blocks.0.attn.qkv.weight', 'blocks.1.mlp.fc1.weight', 'pos_embed', 'patch_embed.proj.weight', 'head.weight']) {
    const s = stats(data(n));
    assert.ok(Math.abs(s.std - 0.02) < 0.003, `${n} std ${s.std}`);
    assert.ok(Math.abs(s.mean) < 0.003, `${n} mean ${s.mean}`);
  }
  assert.ok(stats(data('cls_token')).maxAbs < 1e-5);
  assert.ok(stats(data('cls_token')).maxAbs > 0);
  for (const n of ['blocks.0.attn.qkv.bias', 'blocks.0.mlp.fc2.bias', 'head.bias', 'norm.bias', 'blocks.1.norm1.bias', 'patch_embed.proj.bias']) {
    assert.ok(data(n).every((x) => x === 0), n);
  }
  for (const n of ['blocks.0.norm1.weight', 'blocks.1.norm2.weight', 'norm.weight']) assert.ok(data(n).every((x) => x === 1), n);
});

test('initParameters: seeded and deterministic; zeroHead; PyTorch conv default for the patch embedding', () => {
  const a = initParameters(cfg, { seed: 5 });
  const b = initParameters(cfg, { seed: 5 });
  const c = initParameters(cfg, { seed: 6 });
  assert.deepEqual(a.get('blocks.1.attn.proj.weight')!.data, b.get('blocks.1.attn.proj.weight')!.data);
  assert.notDeepEqual(a.get('blocks.1.attn.proj.weight')!.data, c.get('blocks.1.attn.proj.weight')!.data);
  const z = initParameters(cfg, { seed: 5, zeroHead: true });
  assert.ok((z.get('head.weight')!.data as Float32Array).every((x) => x === 0));
  assert.deepEqual(z.get('pos_embed')!.data, a.get('pos_embed')!.data);
  const t = initParameters(cfg, { seed: 5 }); // 'pytorch' is the default, as timm leaves it
  const bound = 1 / Math.sqrt(3 * 4 * 4);
  for (const n of ['patch_embed.proj.weight', 'patch_embed.proj.bias']) {
    const s = stats(t.get(n)!.data as Float32Array);
    assert.ok(s.maxAbs <= bound && s.maxAbs > bound * 0.8, `${n} max ${s.maxAbs} bound ${bound}`);
  }
  // An explicit generator continues its stream.
  const rng = new Rng(5);
  const d = initParameters(cfg, { rng });
  assert.deepEqual(d.get('pos_embed')!.data, a.get('pos_embed')!.data);
  assert.notDeepEqual(initParameters(cfg, { rng }).get('pos_embed')!.data, a.get('pos_embed')!.data);
});

test('avg pooling and pre-logits configs initialise fc_norm and pre_logits', () => {
  const avg = checkConfig({ ...cfg, pool: 'avg', classToken: false, preLogitsDim: 16 });
  const p = initParameters(avg, { seed: 0 });
  assert.ok((p.get('fc_norm.weight')!.data as Float32Array).every((x) => x === 1));
  assert.ok(!p.has('cls_token'));
  assert.ok(Math.abs(stats(p.get('pre_logits.fc.weight')!.data as Float32Array).std - 0.02) < 0.005);
});

test('truncNormal respects its (absolute) bounds', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 2000; i++) {
    const x = truncNormal(rng, 1, 0, -0.5, 0.5);
    assert.ok(x >= -0.5 && x <= 0.5);
  }
  assert.throws(() => truncNormal(rng, 1, 0, 1, 1), /empty interval/);
});

test('every family preset initialises (tokens, layer scale, MAP head, q/v biases, bias tables) from one stream', () => {
  const families = Object.keys(presets).filter((n) => /dinov2|distilled|clip|siglip|beit/.test(n));
  assert.ok(families.length >= 16);
  for (const name of families) {
    // the layout at a small width: the rules go by name, not size
    const base = presets[name]!;
    const cfg = { ...base, depth: 1, imgSize: 4 * base.patchSize, embedDim: 48, numHeads: 3, mlpDim: 64, numClasses: base.numClasses && 5 };
    const p = initParameters(cfg, { seed: 1, zeroHead: true });
    assert.deepEqual([...p.keys()], [...parameterShapes(cfg).keys()], name);
    for (const [k, t] of p) if (k.endsWith('.gamma')) assert.ok((t.data as Float32Array).every((v) => Math.abs(v - 1e-5) < 1e-12), k);
    if (cfg.distToken) assert.ok((p.get('head_dist.weight')!.data as Float32Array).every((v) => v === 0), name);
  }
});
