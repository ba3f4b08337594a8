// vitkit on a GPU: the same TrainSession step (forward, backward, clipping, AdamW in one graph) and inference graph
// on onnxruntime-node's WebGPU execution provider (Dawn, on Vulkan) and on the same machine's CPU cores, against
// PyTorch + timm eager fp32 on CUDA (bench/gpu_torch.py) where it is installed — all in one run. One JSON line per
// case, with the CPU, the GPU and the Vulkan driver; last lines with the checks (bench/webgpu-checks.ts).
// The fp16 inference cases (model/fp16.ts) run on WebGPU only, where the adapter has shader-f16 (else their line says
// skipped), against vitkit's fp32 on WebGPU and PyTorch's fp16 autocast on CUDA, with the logits' distance from fp32's
// on the GPU (the head gets random weights for that: timm's init leaves it zero).
// Each vitkit case runs in a process of its own, so its peak memory is its own: peak GPU memory is nvidia-smi's
// memory.used over the case minus before it (the whole GPU: the bench runs one thing at a time); where there is no
// nvidia-smi (SwiftShader: the "GPU" is the CPU) only the process's peak RSS is reported.
// `train-teach` is the teach page's step (the `npm start` model, batch 16) on WebGPU in Node, against the CPU: the page
// itself cannot run on the lent machine (no browser there).
// The case `finetune`, after the others (leave it out of --cases to skip it), is bench:finetune's speed part on
// WebGPU: ViT-B/16 at 224 px, batch 16, AdamW, training all / last:4 / lora:8 / bias / head (with --tiny its micro
// model), its own JSON lines (bench/finetune.ts).
// Each line has the case graph's nodes and multiply-adds per image, and with them each side's GFLOP/s (on WebGPU also
// µs per node: a step bound by dispatches, not arithmetic, shows there).
// --batch N runs the chosen cases at batch N instead of their own (the batch that fills a GPU: run infer-s16,infer-b16
// again at 16 and 256).
// Run: npm run bench:gpu [-- --tiny] [--cases train-ti16,train-teach,infer-s16,finetune] [--seconds 10] [--batch N]
//      [--skip cpu,pytorch]
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { multiplyAdds } from '../src/graph/flops.ts';
import { inlineComposites } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { type StateDict, type Tensor, tensor, zeros } from '../src/graph/tensor.ts';
import { type ViTConfig, checkConfig, defaultConfig, preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { parameterShapes } from '../src/model/params.ts';
import { buildStepGraph } from '../src/model/step-graph.ts';
import { packBelowFor } from '../src/model/update-packing.ts';
import { inferenceGraph } from '../src/model/inference-graph.ts';
import { Rng } from '../src/rng.ts';
import { probeWebGpu } from '../src/runtime/devices.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import { type Device, Session } from '../src/runtime/session.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../src/train/recipe.ts';
import { caseInChild, gpuInfo } from './device-case.ts';
import { machine, python } from './machine.ts';
import { benchStep, timmKwargs } from './train-cases.ts';
import { webGpuChecks } from './webgpu-checks.ts';

interface Case {
  readonly kind: 'train' | 'infer';
  readonly config: ViTConfig;
  readonly batch: number;
  /** fp16: float16 compute (inference only); the name of the fp32 case it is compared with. */
  readonly fp16Of?: string;
}

/** The cases: training at 224 px with AdamW, inference at batch 64. */
const CASES: Readonly<Record<string, Case>> = {
  'train-ti16': { kind: 'train', config: preset('vit_tiny_patch16_224'), batch: 64 },
  'train-s16': { kind: 'train', config: preset('vit_small_patch16_224'), batch: 64 },
  'train-b16': { kind: 'train', config: preset('vit_base_patch16_224'), batch: 32 },
  'infer-s16': { kind: 'infer', config: preset('vit_small_patch16_224'), batch: 64 },
  'infer-b16': { kind: 'infer', config: preset('vit_base_patch16_224'), batch: 64 },
  'infer-s16-fp16': { kind: 'infer', config: preset('vit_small_patch16_224'), batch: 64, fp16Of: 'infer-s16' },
  'infer-b16-fp16': { kind: 'infer', config: preset('vit_base_patch16_224'), batch: 64, fp16Of: 'infer-b16' },
  // the teach page's step (the `npm start` model at batch 16), in Node: the lent machine has no browser, and
  // chromium (~350 MB) does not fit what a call carries; the page runs the same graph on onnxruntime-web's build
  'train-teach': { kind: 'train', config: checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config }), batch: 16 },
};
/** --tiny: a micro ViT (32 px, 8-px patches, width 64, depth 2) at batch 2, so the whole run fits SwiftShader. */
const MICRO = checkConfig({ ...defaultConfig, imgSize: 32, patchSize: 8, embedDim: 64, depth: 2, numHeads: 2, mlpDim: 128, numClasses: 10 });
const TINY: Readonly<Record<string, Case>> = {
  'train-micro': { kind: 'train', config: MICRO, batch: 2 },
  'infer-micro': { kind: 'infer', config: MICRO, batch: 2 },
  'infer-micro-fp16': { kind: 'infer', config: MICRO, batch: 2, fp16Of: 'infer-micro' },
};

const { values } = parseArgs({
  options: {
    tiny: { type: 'boolean' }, cases: { type: 'string' }, seconds: { type: 'string' }, batch: { type: 'string' }, skip: { type: 'string' },
    child: { type: 'string' },
  },
});
const seconds = Number(values.seconds ?? (values.tiny ? 1 : 10));
const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
const table = values.tiny ? TINY : CASES;
const batch = values.batch === undefined ? undefined : Number(values.batch);
if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) throw new Error(`--batch ${values.batch}: expected a positive integer`);
/** The case by its name, at --batch where given. */
function caseNamed(name: string): Case {
  const c = table[name]!;
  return batch === undefined ? c : { ...c, batch };
}

/** An inference case's graph on `device`: plain attention ops on WebGPU (the fused kernel is wrong there, see checks). */
function inferenceSession(c: Case, params: StateDict, device: Device, float16: boolean): Promise<Session> {
  const g = inferenceGraph(c.config, params, ['logits'], { ...(device === 'webgpu' ? { kernel: 'plain' as const } : {}), float16 });
  return Session.create(toOnnx(g), { device });
}

/**
 * A case's images per second on `device`, timed after 2 warm-up runs over `seconds` (at least 3 runs); for an fp16
 * case also how far its logits are from the fp32 graph's on the same device and input.
 */
async function measure(c: Case, device: Device): Promise<Record<string, number>> {
  const { config, batch } = c;
  const rng = new Rng(0);
  const x = Float32Array.from({ length: batch * config.inChans * config.imgSize ** 2 }, () => rng.normal());
  const params = initParameters(config, { seed: 0 });
  // timm's init zeroes the head, and zero logits would hide any difference between precisions
  const head = params.get('head.weight')!;
  if (c.kind === 'infer') {
    params.set('head.weight', tensor('float32', head.shape, Float32Array.from(head.data as Float32Array, () => 0.02 * rng.normal())));
  }
  const images = { dtype: 'float32' as const, shape: [batch, config.inChans, config.imgSize, config.imgSize], data: x };
  let last: unknown;
  let run: () => Promise<unknown>;
  let release: () => Promise<void>;
  if (c.kind === 'train') {
    const y = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % config.numClasses));
    const s = await TrainSession.create(config, params, { engine: nodeEngine, batch, device, ...benchStep });
    [run, release] = [() => s.step(x, y, 1e-3), () => s.release()];
  } else {
    const s = await inferenceSession(c, params, device, c.fp16Of !== undefined);
    [run, release] = [async () => (last = await s.run({ images })), () => s.release()];
  }
  for (let i = 0; i < 2; i++) await run();
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < seconds * 1000) {
    await run();
    runs++;
  }
  const ms = (performance.now() - start) / runs;
  await release();
  const rate = { images_per_sec: (batch * 1000) / ms, runs };
  if (!c.fp16Of) return rate;
  const s = await inferenceSession(c, params, device, false);
  const want = (await s.run({ images })).logits!.data as Float32Array;
  await s.release();
  const got = (last as Record<string, Tensor>).logits!.data as Float32Array;
  const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { ...rate, max_abs_diff_vs_fp32: worst, logit_scale: scale, max_rel_diff_vs_fp32: worst / scale };
}

/** Weights of the right shapes for counting a graph (B/16's random init takes seconds; zeros take none). */
const zeroWeights = (config: ViTConfig): StateDict => new Map([...parameterShapes(config)].map(([name, shape]) => [name, zeros(shape)]));

interface GraphCounts {
  readonly graph_nodes: number;
  readonly multiply_adds_per_image: number;
}

/**
 * What a case's graph holds, as vitkit builds it for WebGPU: its nodes (composites inlined; on a GPU each is a kernel
 * dispatch unless onnxruntime fuses it; a training step's small tensors update in packs there) and its matrix
 * products' multiply-adds per image (graph/flops.ts). From them each side's GFLOP/s, and on WebGPU the time per node:
 * whether a GPU step is bound by arithmetic or by dispatches.
 */
function graphCounts(c: Case): GraphCounts {
  const nodes = c.kind === 'train'
    ? buildStepGraph(c.config, { batch: c.batch, ...benchStep, packBelow: packBelowFor('webgpu') }).graph.nodes
    : inferenceGraph(c.config, zeroWeights(c.config), ['logits'], { batch: c.batch, kernel: 'plain', float16: c.fp16Of !== undefined }).nodes;
  return { graph_nodes: inlineComposites(nodes).length, multiply_adds_per_image: multiplyAdds(nodes) / c.batch };
}

/** A side's result with its GFLOP/s (2 per multiply-add: the same products in every engine), and on WebGPU µs per node. */
function withArithmetic(side: Record<string, unknown>, counts: GraphCounts, c: Case, device?: Device): Record<string, unknown> {
  const rate = side.images_per_sec;
  if (typeof rate !== 'number') return side;
  const perNode = device === 'webgpu' ? { us_per_graph_node: (1e6 * c.batch) / rate / counts.graph_nodes } : {};
  return { ...side, gflop_per_sec: (2 * counts.multiply_adds_per_image * rate) / 1e9, ...perNode };
}

/** One vitkit case on one device, in a fresh process (bench/device-case.ts). */
const vitkitChild = (name: string, device: Device): Promise<Record<string, unknown>> => {
  const flags = ['--child', JSON.stringify({ name, device }), '--seconds', String(seconds), ...(batch ? ['--batch', String(batch)] : [])];
  return caseInChild([...flags, ...(values.tiny ? ['--tiny'] : [])], device);
};

const FINETUNE = 'finetune';
/** Timed steps per fine-tuning case on a GPU (bench:finetune's default of 3 is for B/16's ~10 s steps on 2 cores). */
const FINETUNE_STEPS = 10;

/**
 * The `finetune` case: bench:finetune --part speed on WebGPU (the whole-run comparison left out: --run-epochs 0),
 * whose lines go straight to this run's output. Its script is bench/finetune.ts beside this one in the sources, and
 * finetune.mjs beside gpu.mjs in the carried bundle (scripts/device-bench.sh).
 */
function finetune(): void {
  const script = fileURLToPath(new URL(`./finetune${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const size = values.tiny ? ['--quick'] : ['--steps', `${FINETUNE_STEPS}`];
  const flags = ['--part', 'speed', '--device', 'webgpu', '--run-epochs', '0', ...size];
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...flags], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.log(JSON.stringify({ case: FINETUNE, error: `bench:finetune ${flags.join(' ')} exited with ${r.status ?? r.signal}` }));
  }
}

/** PyTorch's side of a case: fp32 eager, or for an fp16 case eager under CUDA fp16 autocast. */
function pytorch(c: Case): Record<string, unknown> {
  const kw = timmKwargs(c.config);
  const script = fileURLToPath(new URL('./gpu_torch.py', import.meta.url));
  const mode = c.fp16Of ? 'infer-fp16' : c.kind;
  const r = spawnSync(python, [script, mode, JSON.stringify(kw), String(c.batch), String(seconds)], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

if (values.child) {
  const { name, device } = JSON.parse(values.child) as { name: string; device: Device };
  const r = await measure(caseNamed(name), device);
  console.log(JSON.stringify({ ...r, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const known = [...Object.keys(table), FINETUNE];
  const names = values.cases?.split(',') ?? known;
  for (const n of names) if (!known.includes(n)) throw new Error(`unknown case '${n}' (expected ${known.join('|')})`);
  if (batch && names.includes(FINETUNE)) throw new Error(`--batch does not apply to '${FINETUNE}' (bench:finetune's batch 16)`);
  const gpu = gpuInfo();
  const threads = availableParallelism();
  const ratio = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    typeof a.images_per_sec === 'number' && typeof b.images_per_sec === 'number' ? a.images_per_sec / b.images_per_sec : null;
  // fp32 WebGPU results of this run, which the fp16 cases compare with (measured again where not in --cases)
  const fp32OnWebGpu = new Map<string, Record<string, unknown>>();
  for (const name of names) {
    if (name === FINETUNE) {
      finetune();
      continue;
    }
    const c = caseNamed(name);
    if (c.fp16Of) {
      const head = { case: name, kind: c.kind, batch: c.batch, img_size: c.config.imgSize, precision: 'fp16' };
      const probe = await probeWebGpu();
      if (!probe.available || !probe.fp16) {
        const why = probe.available ? 'no shader-f16' : `no WebGPU adapter: ${probe.reason}`;
        console.log(JSON.stringify({ ...head, vitkit_webgpu: { skipped: why }, ...gpu, machine: machine() }));
        continue;
      }
      const webgpu = await vitkitChild(name, 'webgpu');
      const fp32 = fp32OnWebGpu.get(c.fp16Of) ?? (await vitkitChild(c.fp16Of, 'webgpu'));
      const torch = skip.has('pytorch') ? { skipped: '--skip pytorch' } : pytorch(c);
      const counts = graphCounts(c);
      console.log(JSON.stringify({
        ...head, ...counts, vitkit_webgpu: withArithmetic(webgpu, counts, c, 'webgpu'), vitkit_webgpu_fp32: fp32,
        pytorch_fp16_autocast: withArithmetic(torch, counts, c),
        ratio_fp16_vs_fp32_webgpu: ratio(webgpu, fp32), ratio_webgpu_vs_pytorch_fp16: ratio(webgpu, torch), ...gpu, machine: machine(),
      }));
      continue;
    }
    const webgpu = await vitkitChild(name, 'webgpu');
    fp32OnWebGpu.set(name, webgpu);
    const cpu = skip.has('cpu') ? { skipped: '--skip cpu' } : await vitkitChild(name, 'cpu');
    const torch = skip.has('pytorch') ? { skipped: '--skip pytorch' } : pytorch(c);
    const counts = graphCounts(c);
    console.log(JSON.stringify({
      case: name, kind: c.kind, batch: c.batch, img_size: c.config.imgSize, fp32: true, ...(c.kind === 'train' ? { optimizer: 'adamw' } : {}),
      ...counts, vitkit_webgpu: withArithmetic(webgpu, counts, c, 'webgpu'), vitkit_cpu: withArithmetic({ threads, ...cpu }, counts, c),
      pytorch: withArithmetic(torch, counts, c),
      ratio_webgpu_vs_cpu: ratio(webgpu, cpu), ratio_webgpu_vs_pytorch: ratio(webgpu, torch),
      ...gpu, machine: machine(),
    }));
  }
  for (const line of await webGpuChecks()) console.log(JSON.stringify(line));
}
