// int8 or fp16 against float32: how often the two agree on the top-1 class and how far their logits move, max |Δlogit|
// relative to the float32 logits' largest magnitude. Two kinds of case, one JSON line each:
//   CHECKPOINT=DATA  a trained checkpoint on a whole test split: both top-1 accuracies, the drop and the agreement;
//   fixtures         every golden fixture checkpoint (the micro ViTs, both hybrids, the families: DINOv2 with and
//                    without registers and SwiGLU, DeiT distilled, CLIP, SigLIP's MAP head, BEiT) on its two images.
// Runs on the CPU execution provider (fp16 too: a float16 graph runs there; GPU f16 arithmetic may differ, see
// bench:gpu). --keep-fp32 OPS (fp16) overrides which op types stay float32 (model/fp16.ts FLOAT32_OPS).
// Run: node --import tsx bench/precision-accuracy.ts [--precision int8|fp16] [--per-tensor] [--keep-fp32 Softmax,…]
//        [--threads N] fixtures | CHECKPOINT=DATA …
//   e.g. fixtures  runs/fashion-mnist/best.safetensors=fashion-mnist  runs/cifar/best.safetensors=path/to/cifar10
import { parseArgs } from 'node:util';
import { toOnnx } from '../src/graph/onnx.ts';
import type { StateDict, Tensor } from '../src/graph/tensor.ts';
import { AccuracyMeter } from '../src/eval/accuracy.ts';
import { evalSource } from '../src/eval/evaluate.ts';
import { type ViTConfig, embeddingOutput } from '../src/model/config.ts';
import { loadModel } from '../src/inference/classifier.ts';
import { FLOAT32_OPS, float16Graph } from '../src/model/fp16.ts';
import { quantizeWeights } from '../src/model/int8.ts';
import { inferenceGraph } from '../src/model/inference-graph.ts';
import { Session } from '../src/runtime/session.ts';
import { loadCheckpoint } from '../src/weights/checkpoint.ts';
import { FIXTURES, FIXTURE_CHECKPOINTS, expected } from '../test/fixtures.ts';
import { FAMILIES, familyExpected } from '../test/model/family-fixtures.ts';
import { machine } from './machine.ts';

const { values, positionals } = parseArgs({
  options: { precision: { type: 'string' }, 'per-tensor': { type: 'boolean' }, 'keep-fp32': { type: 'string' }, threads: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length === 0) throw new Error('give fixtures and/or CHECKPOINT=DATA pairs (see the header of bench/precision-accuracy.ts)');
const precision = values.precision ?? 'int8';
if (precision !== 'int8' && precision !== 'fp16') throw new Error(`--precision ${precision}: expected int8 or fp16`);
const threads = values.threads ? Number(values.threads) : undefined;
const keepFloat32 = values['keep-fp32'] === undefined ? FLOAT32_OPS : new Set(values['keep-fp32'].split(',').filter(Boolean));
const settings = precision === 'int8' ? { per_tensor: !!values['per-tensor'] } : { keep_fp32: [...keepFloat32] };

/** A session for the float32 model and one for the same model in `precision`, both on the CPU, with the same attention. */
async function sessionPair(cfg: ViTConfig, weights: StateDict, output: string): Promise<[Session, Session]> {
  const outputs = [output as 'logits' | 'pooled'];
  // plain attention on both sides for fp16 (the float16 graph needs it), so only the precision differs
  const fp32 = inferenceGraph(cfg, weights, outputs, precision === 'fp16' ? { kernel: 'plain' } : {});
  const other = precision === 'fp16'
    ? float16Graph(fp32, { keepFloat32 })
    : inferenceGraph(cfg, quantizeWeights(cfg, weights, { perTensor: values['per-tensor'] }), outputs);
  return [await Session.create(toOnnx(fp32), { threads }), await Session.create(toOnnx(other), { threads })];
}

/** The top-1 class of a row. */
const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);

/** Accumulates top-1 agreement and the largest |Δ| over batches of [n, k] outputs. */
class Agreement {
  agree = 0;
  rows = 0;
  maxDiff = 0;
  scale = 0;
  add(a: Float32Array, b: Float32Array, k: number): void {
    for (let r = 0; r < a.length / k; r++) this.agree += Number(argmax(a.subarray(r * k, (r + 1) * k)) === argmax(b.subarray(r * k, (r + 1) * k)));
    this.rows += a.length / k;
    for (let i = 0; i < a.length; i++) {
      this.maxDiff = Math.max(this.maxDiff, Math.abs(a[i]! - b[i]!));
      this.scale = Math.max(this.scale, Math.abs(a[i]!));
    }
  }
  result() {
    return { top1_agreement: (100 * this.agree) / this.rows, max_abs_diff: this.maxDiff, scale: this.scale, max_rel_diff: this.maxDiff / this.scale };
  }
}

/** The fixture checkpoints with their two input images: the shared fixtures, then the families (test/fixtures/families). */
function fixtureCases(): { name: string; path: string; overrides: Partial<ViTConfig>; images: Tensor }[] {
  const shared = [...FIXTURE_CHECKPOINTS, ['hybrid_stem_p2_32', 'timm.safetensors', { numHeads: 2 }] as const].map(([m, f, overrides]) => ({
    name: `${m}/${f}`, path: `${FIXTURES}${m}/${f}`, overrides, images: expected(m).get('input')!,
  }));
  const families = ['dinov2', 'dinov2_reg', 'dinov2_cls', 'dinov2_swiglu', 'deit_distilled', 'clip', 'siglip', 'beit'].map((name) => {
    const file = name === 'dinov2_swiglu' ? 'timm.safetensors' : 'hf'; // the SwiGLU fixture has no Hugging Face twin
    const overrides = file === 'hf' ? {} : { numHeads: 2 };
    return { name: `${name}/${file}`, path: `${FAMILIES}${name}/${file}`, overrides, images: familyExpected(name).get('input')! };
  });
  return [...shared, ...families];
}

async function fixtures(): Promise<void> {
  const all = new Agreement();
  for (const c of fixtureCases()) {
    const { config, weights } = loadCheckpoint(c.path, c.overrides);
    // logits, or a headless model's embedding (DINOv2, SigLIP): what a user of that model reads
    const output = config.numClasses > 0 ? 'logits' : embeddingOutput(config);
    const [a, b] = await sessionPair(config, weights, output);
    const [x, y] = [(await a.run({ images: c.images }))[output]!, (await b.run({ images: c.images }))[output]!];
    const one = new Agreement();
    const k = x.shape[1]!;
    one.add(x.data as Float32Array, y.data as Float32Array, k);
    all.add(x.data as Float32Array, y.data as Float32Array, k);
    console.log(JSON.stringify({ case: c.name, output, precision, ...settings, images: c.images.shape[0], ...one.result() }));
    await Promise.all([a.release(), b.release()]);
  }
  console.log(JSON.stringify({ case: 'fixtures (all)', precision, ...settings, images: all.rows, ...all.result(), machine: machine() }));
}

async function trained(checkpoint: string, data: string): Promise<void> {
  const { config, weights, preprocess } = loadModel(checkpoint, { precision: 'fp32' });
  const [a, b] = await sessionPair(config, weights, 'logits');
  const source = await evalSource(data, preprocess);
  const n = source.labels.length;
  const k = config.numClasses;
  const [meter32, meter] = [new AccuracyMeter(k), new AccuracyMeter(k)];
  const agreement = new Agreement();
  const started = performance.now();
  for (let start = 0; start < n; start += 256) {
    const indices = Array.from({ length: Math.min(256, n - start) }, (_, i) => start + i);
    const images = await source.load(indices);
    const [l32, l] = [(await a.run({ images })).logits!.data as Float32Array, (await b.run({ images })).logits!.data as Float32Array];
    const labels = source.labels.subarray(start, start + indices.length);
    meter32.add(l32, labels);
    meter.add(l, labels);
    agreement.add(l32, l, k);
  }
  await Promise.all([a.release(), b.release()]);
  const [top32, top] = [100 * meter32.result().top1, 100 * meter.result().top1];
  console.log(JSON.stringify({
    checkpoint, data, precision, ...settings, images: n, machine: machine(),
    fp32_top1: top32, [`${precision}_top1`]: top, drop_pt: top32 - top, ...agreement.result(), seconds: (performance.now() - started) / 1000,
  }));
}

for (const arg of positionals) {
  if (arg === 'fixtures') await fixtures();
  else {
    const [checkpoint, data] = arg.split('=') as [string, string];
    await trained(checkpoint, data);
  }
}
