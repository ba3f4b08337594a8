// How far WebGPU's logits are from timm's and from the CPU's, per model and attention kernel: the golden fixtures
// (timm's logits are the reference) and a randomly initialised Ti/16 at 224 px (the CPU's plain graph is). The
// kernels: 'plain' (standard ONNX ops, what vitkit runs on WebGPU) and 'fused' (com.microsoft Attention, the CPU's
// default and export-onnx's). Prints one JSON line per case and the machine. --sweep adds what the fused kernel's
// error depends on: one-block models of growing sequence length, and micro_p16_224 with flatter attention. Without
// a GPU, set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader; slow: minutes).
// Run: node --import tsx bench/webgpu-accuracy.ts [--no-ti16] [--sweep]
import { parseArgs } from 'node:util';
import { toOnnx } from '../src/graph/onnx.ts';
import type { StateDict, Tensor } from '../src/graph/tensor.ts';
import { type ViTConfig, preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { type AttentionKernel, inferenceGraph } from '../src/model/inference-graph.ts';
import { probeWebGpu } from '../src/runtime/devices.ts';
import { type Device, Session } from '../src/runtime/session.ts';
import { loadCheckpoint } from '../src/weights/checkpoint.ts';
import { FIXTURES, FIXTURE_CHECKPOINTS, expected, maxAbsDiff } from '../test/fixtures.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({ options: { 'no-ti16': { type: 'boolean' }, sweep: { type: 'boolean' } } });
const probe = await probeWebGpu();
if (!probe.available) throw new Error(`no WebGPU adapter: ${probe.reason} (${probe.fix})`);

async function logits(cfg: ViTConfig, weights: StateDict, images: Tensor, kernel: AttentionKernel, device: Device): Promise<Tensor> {
  const session = await Session.create(toOnnx(inferenceGraph(cfg, weights, ['logits'], { kernel })), { device });
  const out = (await session.run({ images })).logits!;
  await session.release();
  return out;
}

interface Case {
  readonly name: string;
  readonly config: ViTConfig;
  readonly weights: StateDict;
  readonly images: Tensor;
  /** timm's logits, where there are some. */
  readonly timm?: Tensor;
}

const cases: Case[] = [];
for (const [model, format, overrides] of FIXTURE_CHECKPOINTS) {
  const golden = expected(model);
  const { config, weights } = loadCheckpoint(`${FIXTURES}${model}/${format}`, overrides);
  cases.push({ name: `${model}/${format}`, config, weights, images: golden.get('input')!, timm: golden.get('logits')! });
}
if (values.sweep) {
  // one block, D 64, 2 heads, patch 8: T = (img/8)² tokens, + 1 with a class token; deterministic weights
  for (const [img, classToken] of [[32, false], [32, true], [48, false], [64, false], [64, true]] as const) {
    const config = preset('vit_tiny_patch16_224', {
      imgSize: img,
      patchSize: 8,
      depth: 1,
      numHeads: 2,
      embedDim: 64,
      mlpDim: 128,
      numClasses: 5,
      classToken,
      pool: classToken ? 'token' : 'avg',
    });
    const weights = initParameters(config, { seed: 1 });
    for (const [k, t] of weights) (t.data as Float32Array).forEach((_, i, a) => (a[i] = Math.sin(i * 1.7 + k.length) * 0.5));
    const data = Float32Array.from({ length: 3 * img * img }, (_, i) => Math.cos(i * 0.3));
    cases.push({
      name: `one block, T = ${(img / 8) ** 2 + Number(classToken)}`,
      config,
      weights,
      images: { dtype: 'float32', shape: [1, 3, img, img], data },
    });
  }
  // the fixture's query and key rows scaled down: scores 100× smaller, attention flatter
  const { config, weights } = loadCheckpoint(`${FIXTURES}micro_p16_224/timm.safetensors`, { numHeads: 2, layerNormEps: 1e-6 });
  const flat = new Map(weights);
  for (let b = 0; b < config.depth; b++) {
    const w = flat.get(`blocks.${b}.attn.qkv.weight`)!;
    const d = new Float32Array(w.data as Float32Array);
    d.subarray(0, 2 * config.embedDim * config.embedDim).forEach((x, i, a) => (a[i] = x * 0.1));
    flat.set(`blocks.${b}.attn.qkv.weight`, { ...w, data: d });
  }
  cases.push({ name: 'micro_p16_224, q and k × 0.1', config, weights: flat, images: expected('micro_p16_224').get('input')! });
}
if (!values['no-ti16']) {
  const config = preset('vit_tiny_patch16_224');
  const data = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.37));
  cases.push({
    name: 'vit_tiny_patch16_224 (random init)',
    config,
    weights: initParameters(config, { seed: 0 }),
    images: { dtype: 'float32', shape: [1, 3, 224, 224], data },
  });
}

console.log(JSON.stringify({ machine: machine(), webgpu: { drivers: probe.drivers.map((d) => d.library || d.manifest), fp16: probe.fp16 } }));
for (const c of cases) {
  const cpu = await logits(c.config, c.weights, c.images, 'plain', 'cpu');
  const row: Record<string, unknown> = { case: c.name, max_abs_logit: Math.max(...Array.from(cpu.data as Float32Array, Math.abs)) };
  for (const kernel of ['plain', 'fused'] as const) {
    const gpu = await logits(c.config, c.weights, c.images, kernel, 'webgpu');
    row[`${kernel}_vs_cpu`] = maxAbsDiff(gpu, cpu);
    if (c.timm) row[`${kernel}_vs_timm`] = maxAbsDiff(gpu, c.timm);
  }
  if (c.timm) row.cpu_vs_timm = maxAbsDiff(cpu, c.timm);
  console.log(JSON.stringify(row));
}
