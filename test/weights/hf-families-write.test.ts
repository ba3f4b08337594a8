// `convert --to hf` for the families (src/weights/hf-families-write.ts). The written folder is what transformers
// itself saves: the same tensor names, shapes and config.json as its fixtures (test/fixtures/families/*/hf, made by
// make_fixtures.py), and it loads back in vitkit to the same outputs. (transformers 5.18 loading every written folder
// with no missing or unexpected key and giving the references was checked once by hand, not here: no Python in tests.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StateDict, Tensor } from '../../src/graph/tensor.ts';
import { type ViTConfig, checkConfig } from '../../src/model/config.ts';
import { withNewHead } from '../../src/model/head.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { FAMILIES, familyExpected, relErr, runModel } from '../model/family-fixtures.ts';
import { vitkit } from '../cli/run.ts';
import { assertUserError, tempDir } from './helpers.ts';

const tmp = tempDir();

/** What a written folder holds. */
function written(dir: string): { tensors: StateDict; config: Record<string, unknown> } {
  return { tensors: readSafetensors(join(dir, 'model.safetensors')).tensors, config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) };
}

/** transformers' own folder of a fixture. */
const reference = (name: string) => written(`${FAMILIES}${name}/hf`);

/** Same names and shapes as transformers' folder; and config.json agrees on every model field vitkit writes. */
function assertSameLayout(ours: ReturnType<typeof written>, theirs: ReturnType<typeof written>, except: string[] = []): void {
  assert.deepEqual([...ours.tensors.keys()].sort(), [...theirs.tensors.keys()].sort());
  for (const [k, t] of theirs.tensors) assert.deepEqual(ours.tensors.get(k)!.shape, t.shape, k);
  for (const k of ['model_type', 'architectures', 'hidden_size', 'num_attention_heads', 'patch_size', 'image_size']) assert.ok(k in ours.config, k);
  for (const [k, v] of Object.entries(ours.config)) {
    if (['id2label', 'label2id', ...except].includes(k)) continue;
    assert.deepEqual(v, theirs.config[k], `config.json ${k}`);
  }
}

/** Outputs of a checkpoint and of the folder it was written to, on the fixture's images. */
async function roundTrip(source: Checkpoint, dir: string, images: Tensor): Promise<[Tensor, Tensor]> {
  const back = loadCheckpoint(dir);
  assert.equal(back.format, 'hf');
  return [await runModel(source.config, source.weights, images), await runModel(back.config, back.weights, images)];
}

const hfFolders = ['dinov2', 'dinov2_reg', 'dinov2_cls', 'deit_distilled', 'clip', 'siglip', 'beit'];

for (const name of hfFolders) {
  test(`${name}: transformers' folder → vitkit → hf is transformers' folder again, tensor by tensor`, async () => {
    const source = loadCheckpoint(`${FAMILIES}${name}/hf`);
    const dir = join(tmp, `${name}-hf`);
    saveCheckpoint(dir, source, 'hf');
    const ours = written(dir);
    const theirs = reference(name);
    assertSameLayout(ours, theirs);
    assert.deepEqual(ours.config.id2label, theirs.config.id2label); // none for a projection head (CLIP)
    for (const [k, t] of theirs.tensors) {
      const got = ours.tensors.get(k)!.data as Float32Array;
      // vitkit keeps no mask token (only masked pre-training reads it): written as zeros
      if (k.endsWith('embeddings.mask_token')) assert.ok(got.every((v) => v === 0), k);
      // DINOv2 with registers: the class position entry was folded into the class token on reading (timm's layout);
      // written back as a zero entry beside that token, which computes the same (the sums are checked)
      else if (name === 'dinov2_reg' && /embeddings\.(cls_token|position_embeddings)$/.test(k)) continue;
      else assert.deepEqual(got, t.data, k);
    }
    if (name === 'dinov2_reg') {
      const pos = (n: string, t: StateDict) => (t.get(`embeddings.${n}`)!.data as Float32Array);
      const d = source.config.embedDim;
      assert.ok(pos('position_embeddings', ours.tensors).subarray(0, d).every((v) => v === 0));
      assert.deepEqual(pos('position_embeddings', ours.tensors).subarray(d), pos('position_embeddings', theirs.tensors).subarray(d));
      const sum = (t: StateDict) => pos('cls_token', t).map((v, i) => v + pos('position_embeddings', t)[i]!);
      assert.deepEqual(sum(ours.tensors), sum(theirs.tensors));
    }
    const golden = familyExpected(name);
    const [before, after] = await roundTrip(source, dir, golden.get('input')!);
    assert.ok(relErr(after, before) < 1e-5, `round trip: ${relErr(after, before)}`);
    assert.ok(relErr(after, golden.get('hf.out')!) < 1e-4, `vs transformers: ${relErr(after, golden.get('hf.out')!)}`);
  });
}

// [fixture, flags a timm file needs]; each is compared with transformers' folder of its family (independent random
// weights of the same sizes: names, shapes and config)
const timmFiles: [string, string[]][] = [
  ['dinov2', []], ['dinov2_reg', []], ['deit_distilled', []], ['clip', ['--mlp', 'quick_gelu', '--ln-eps', '1e-5']],
  ['siglip', []], ['beit', []],
];

/** timm's CLIP fixture with its head's bias zeroed: timm's conversion of CLIP's bias-free projection. */
function clipProjection(): string {
  const t = readSafetensors(`${FAMILIES}clip/timm.safetensors`).tensors;
  const b = t.get('head.bias')!;
  t.set('head.bias', { ...b, data: new Float32Array(b.data.length) });
  const file = join(tmp, 'clip-projection.safetensors');
  writeSafetensors(file, t);
  return file;
}

for (const [name, flags] of timmFiles) {
  test(`${name}: timm file → convert --to hf gives transformers' names, shapes and config, and timm's output back`, async () => {
    const file = name === 'clip' ? clipProjection() : `${FAMILIES}${name}/timm.safetensors`;
    const dir = join(tmp, `${name}-timm`);
    const r = vitkit(['convert', file, dir, '--to', 'hf', '--heads', '2', ...flags]);
    assert.equal(r.status, 0, r.stderr);
    const ours = written(dir);
    // timm's LayerNorms use 1e-6 where transformers' DeiT and BEiT default to 1e-12: the model's own is written
    const source = loadCheckpoint(file, { numHeads: 2, ...(name === 'clip' ? { mlp: 'quick_gelu', layerNormEps: 1e-5 } : {}) });
    assert.equal(ours.config.layer_norm_eps, source.config.layerNormEps);
    // timm's SigLIP fixture runs exact GELU (timm's default), transformers' the tanh form (SigLIP's)
    assert.equal(ours.config.hidden_act, name === 'siglip' ? 'gelu' : reference(name).config.hidden_act);
    assertSameLayout(ours, reference(name), ['layer_norm_eps', 'hidden_act']);
    const golden = familyExpected(name);
    const [before, after] = await roundTrip(source, dir, golden.get('input')!);
    assert.ok(relErr(after, before) < 1e-5, `round trip: ${relErr(after, before)}`);
    // timm's output (CLIP's less the bias zeroed above)
    const timmOut = golden.get('timm.out')!;
    const bias = name === 'clip' ? readSafetensors(`${FAMILIES}clip/timm.safetensors`).tensors.get('head.bias')!.data as Float32Array : undefined;
    const want = bias ? { ...timmOut, data: (timmOut.data as Float32Array).map((v, i) => v - bias[i % bias.length]!) } : timmOut;
    assert.ok(relErr(after, want) < 1e-4, `vs timm: ${relErr(after, want)}`);
  });
}

/** Random weights for a config (the head too: a zero head would make any two models agree). */
function randomModel(cfg: ViTConfig): Checkpoint {
  const config = checkConfig(cfg);
  const weights = initParameters(config, { seed: 3 });
  const rng = new Rng(4);
  for (const [k, t] of weights) if (/^head|gamma$/.test(k)) (t.data as Float32Array).forEach((_, i, a) => (a[i] = rng.normal()));
  return { format: 'vitkit', path: '', config, weights };
}

const micro: ViTConfig = {
  imgSize: 28, patchSize: 7, inChans: 3, embedDim: 32, depth: 2, numHeads: 2, mlpDim: 128, numClasses: 0, classToken: true,
  pool: 'token', layerNormEps: 1e-6, qkvBias: true, preLogitsDim: 0, layerScale: true,
};

test("a DINOv2 fine-tuned with a new head (on the class token) becomes Dinov2ForImageClassification's [class, mean] head", async () => {
  const base = randomModel(micro);
  const tuned = { ...base, ...withNewHead(base.config, base.weights, 3) };
  const rng = new Rng(5);
  for (const k of ['head.weight', 'head.bias']) (tuned.weights.get(k)!.data as Float32Array).forEach((_, i, a) => (a[i] = rng.normal()));
  const dir = join(tmp, 'dinov2-tuned');
  saveCheckpoint(dir, tuned, 'hf');
  const { tensors, config } = written(dir);
  assert.deepEqual([config.architectures, tensors.get('classifier.weight')!.shape], [['Dinov2ForImageClassification'], [3, 64]]);
  const [before, after] = await roundTrip(tuned, dir, familyExpected('dinov2').get('input')!);
  assert.ok(relErr(after, before) < 1e-5, `${relErr(after, before)}`);
});

test("DINOv2-giant's SwiGLU: an integer mlp_ratio makes transformers' width; a width none makes is refused in one line", async () => {
  // halves of 64: transformers' int(32·3·2/3) rounded up to a multiple of 8 (as DINOv2-G's 4096 from 1536·4)
  const swiglu = randomModel({ ...micro, mlp: 'swiglu', mlpDim: 128 });
  const dir = join(tmp, 'swiglu');
  saveCheckpoint(dir, swiglu, 'hf');
  const { tensors, config } = written(dir);
  assert.deepEqual([config.mlp_ratio, config.use_swiglu_ffn, tensors.get('encoder.layer.0.mlp.weights_in.weight')!.shape], [3, true, [128, 32]]);
  const [before, after] = await roundTrip(swiglu, dir, familyExpected('dinov2').get('input')!);
  assert.ok(relErr(after, before) < 1e-5, `${relErr(after, before)}`);
  // timm's micro SwiGLU fixture: halves of 85
  const r = vitkit(['convert', `${FAMILIES}dinov2_swiglu/timm.safetensors`, join(tmp, 'never'), '--to', 'hf', '--heads', '2']);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(
      String.raw`never: transformers' DINOv2 cannot make an MLP 85 wide from width 32 with an integer mlp_ratio ` +
        String.raw`\(SwiGLU halves: .*\): save it as timm or vitkit\n$`,
    ),
  );
});

test('what transformers cannot compute is refused in one line: a classifier on a CLIP or SigLIP tower, CLIP with a patch bias', () => {
  const clip = loadCheckpoint(`${FAMILIES}clip/timm.safetensors`, { numHeads: 2 }); // its head has a bias: a classifier
  assertUserError(
    () => saveCheckpoint(join(tmp, 'c'), clip, 'hf'),
    /transformers' CLIP vision model cannot express a classifier head \(.*\), which this model has: save it as timm or vitkit/,
  );
  const siglip = loadCheckpoint(`${FAMILIES}siglip/hf`);
  assertUserError(
    () => saveCheckpoint(join(tmp, 's'), { ...siglip, ...withNewHead(siglip.config, siglip.weights, 3) }, 'hf'),
    /SigLIP vision model cannot express a classifier head/,
  );
  const biased = randomModel({ ...micro, layerScale: undefined, preNorm: true, numClasses: 16, projectionHead: true });
  (biased.weights.get('head.bias')!.data as Float32Array).fill(0);
  assertUserError(() => saveCheckpoint(join(tmp, 'p'), biased, 'hf'), /CLIP vision model cannot express a patch projection bias/);
  const dinoAvg = randomModel({ ...micro, pool: 'avg', numClasses: 3 });
  assertUserError(() => saveCheckpoint(join(tmp, 'a'), dinoAvg, 'hf'), /DINOv2 cannot express average pooling \(pool 'avg'\)/);
});
