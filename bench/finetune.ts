// Cheap fine-tuning, measured: what each `--train` choice costs and what it reaches, all in one run on one device.
//
// speed     ViT-B/16 at 224 px, batch 16, AdamW (a 10-class head, as fine-tuning attaches): images/s of the step
//           and peak RSS for all / last:4 / lora:8 / bias / head, each case in a child process of its own (so its
//           peak memory is its own), with each case's ratio to the whole-model step measured in the same run, by wall
//           time and on the CPU by CPU time (which holds when other work shares the cores). On WebGPU (--device)
//           also the peak GPU memory where nvidia-smi reports it (bench/device-case.ts: onnxruntime reports none)
//           and its ratio, and the GPU's name and driver (onnxruntime names no adapter). `last:4` and `head` are the
//           steps that recompute the frozen forward (--no-cache-features); `last:4, cached` the step on the cached
//           tokens entering block 8 (blocks 8–11 alone), `head, cached` the step on cached features (the head alone).
//           Each case also counts its step graph's matrix products (multiply-adds per image, graph/flops.ts): the
//           whole step's count over a case's is the speed-up its arithmetic allows.
//           Then what a user waits for: a whole `train()` run of --run-epochs epochs on --run-images random images
//           (and a quarter as many test images, evaluated every epoch) with --train all, last:4 and head, whose
//           time includes building the sessions and, for last:4 and head, the pass that fills the cache once.
// accuracy  the transfer suite's three 1,000-image targets (examples/transfer-suite.ts) from its ViT pre-trained
//           on CIFAR-10 classes 0–4 (all 25,000 images): `vitkit finetune` with --train all / last:1 (of its 4
//           blocks) / lora:8 / head (a linear probe trained by the same SGD), the same steps and protocol each.
//
// Run: npm run bench:finetune [-- --part speed|accuracy|both] [--device cpu|webgpu] [--steps N] [--quick]
//        [--upstream CKPT] [--out DIR]
//   --device    where the speed part runs: cpu (default, all cores) or webgpu (onnxruntime's WebGPU EP, with
//               --part speed; an error naming the fix without an adapter)
//   --steps     timed steps per speed case after one warm-up step (default 3: B/16's whole step takes ~10 s; the
//               cached head step, a 768×10 product, times 100× as many)
//   --run-epochs, --run-images   the whole-run comparison (default 2 epochs of 32 images: 4 steps; 0 epochs skips it)
//   --quick     a smoke run: a micro ViT for speed (32 px, width 64, depth 8, batch 8: minutes on SwiftShader),
//               tiny sets and a few steps for accuracy (checks the pipeline)
//   --upstream  a pre-trained checkpoint to start from (e.g. a transfer-suite run's up-ViT-5000/best.safetensors)
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ViTConfig, checkConfig, defaultConfig, preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { UserError } from '../src/errors.ts';
import { imageSet } from '../src/data/image-set.ts';
import { multiplyAdds } from '../src/graph/flops.ts';
import { numel } from '../src/graph/tensor.ts';
import { buildStepGraph } from '../src/model/step-graph.ts';
import { Rng } from '../src/rng.ts';
import type { TrainRecipe } from '../src/train/recipe.ts';
import type { TrainEvent } from '../src/train/trainer.ts';
import { cachedStart, parseTrainSelection, selectionRule } from '../src/model/trainable.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import { parseDevice, resolveDevice } from '../src/runtime/devices.ts';
import type { Device } from '../src/runtime/session.ts';
import { classSubset, defaultArchive, exampleFlags, extractCifar, result, root, vitkitRunner } from '../examples/cli.ts';
import { NO_GPU_MEMORY, caseInChild, gpuInfo } from './device-case.ts';
import { machine } from './machine.ts';
import { benchStep } from './train-cases.ts';

const values = exampleFlags(import.meta.url, {
  part: { type: 'string' }, steps: { type: 'string' }, quick: { type: 'boolean' }, upstream: { type: 'string' }, out: { type: 'string' },
  child: { type: 'string' }, 'run-epochs': { type: 'string' }, 'run-images': { type: 'string' }, device: { type: 'string' },
});
/** A bad flag, or no adapter for --device webgpu: one line and exit code 2, as exampleFlags answers a bad flag. */
function refuse(message: string): never {
  console.error(`finetune.ts: ${message}`);
  process.exit(2);
}
const quick = !!values.quick;
const part = values.part ?? 'both';
if (!['speed', 'accuracy', 'both'].includes(part)) refuse(`--part must be speed|accuracy|both, got '${part}'`);
const timedSteps = Number(values.steps ?? 3);
const threads = availableParallelism();
// a child is handed the device its parent resolved (the parent probes once)
const { device } = values.child
  ? { device: values.device as Device }
  : await Promise.resolve(values.device ?? 'cpu').then((d) => resolveDevice(parseDevice(d)))
    .catch((e: unknown) => (e instanceof UserError ? refuse(e.message) : Promise.reject(e)));
if (!values.child && device === 'webgpu' && part !== 'speed') {
  refuse('--device webgpu measures the speed part only: add --part speed');
}
const SPEED_CASES = ['all', 'last:4', 'last:4, cached', 'lora:8', 'bias', 'head', 'head, cached'] as const;
const RUN_CASES = ['all', 'last:4', 'head'] as const;
const runEpochs = Number(values['run-epochs'] ?? 2);
const runImages = Number(values['run-images'] ?? 32);
const speedConfig: ViTConfig = quick
  ? checkConfig({ ...defaultConfig, imgSize: 32, patchSize: 8, embedDim: 64, depth: 8, numHeads: 2, mlpDim: 128, numClasses: 10 })
  : { ...preset('vit_base_patch16_224'), numClasses: 10 };
const speedBatch = quick ? 8 : 16;

/** One speed case in this (child) process: session creation, a warm-up step, then timed steps. */
async function speedCase(name: string): Promise<Record<string, number>> {
  const cfg = speedConfig;
  const cached = name.endsWith(', cached');
  const selection = parseTrainSelection(name.replace(', cached', ''));
  const t0 = performance.now();
  const graph = {
    batch: speedBatch,
    ...benchStep,
    trainable: selectionRule(cfg, selection),
    lora: selection.lora,
    start: cached ? cachedStart(cfg, selection) : undefined,
  };
  const session = await TrainSession.create(cfg, initParameters(cfg, { seed: 0 }), { ...graph, engine: nodeEngine, threads, device });
  const build = (performance.now() - t0) / 1000;
  const x = Float32Array.from({ length: speedBatch * numel(session.input.shape) }, (_, i) => Math.sin(i));
  const y = BigInt64Array.from({ length: speedBatch }, (_, i) => BigInt(i % cfg.numClasses));
  await session.step(x, y, 1e-3);
  const steps = name === 'head, cached' ? 100 * timedSteps : timedSteps; // a cached head step takes well under a millisecond
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) await session.step(x, y, 1e-3);
  const perStep = (performance.now() - start) / 1000 / steps;
  const cpu = process.cpuUsage(cpu0);
  const cpuPerStep = (cpu.user + cpu.system) / 1e6 / steps;
  const trainable = session.trainable.length;
  await session.release();
  const multiplyAddsPerImage = multiplyAdds(buildStepGraph(cfg, graph).graph.nodes) / speedBatch; // the step's arithmetic
  return {
    images_per_sec: speedBatch / perStep, seconds_per_step: perStep, cpu_seconds_per_step: cpuPerStep, build_seconds: build,
    trainable_tensors: trainable, timed_steps: steps, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    multiply_adds_per_image: multiplyAddsPerImage,
  };
}

/** A whole train() run (child process) of `runEpochs` epochs on random images: what `vitkit finetune --train X` costs. */
async function runCase(train: string): Promise<Record<string, number>> {
  const cfg = speedConfig;
  const rng = new Rng(0);
  const set = (n: number, name: string) => imageSet({
    name, classes: Array.from({ length: cfg.numClasses }, (_, i) => `c${i}`), channels: 3, height: cfg.imgSize, width: cfg.imgSize,
    images: Uint8Array.from({ length: n * 3 * cfg.imgSize ** 2 }, () => rng.int(256)),
    labels: Int32Array.from({ length: n }, (_, i) => i % cfg.numClasses),
  });
  const data = {
    train: set(runImages, 'random/train'),
    test: set(Math.max(1, runImages / 4), 'random/test'),
    skipped: { malformed: 0, duplicates: 0 },
  };
  const recipe: TrainRecipe = {
    config: cfg, data: 'random', epochs: runEpochs, batch: speedBatch, gradAccum: 1, ...benchStep, lr: 1e-3, schedule: 'cosine', warmupSteps: 0,
    seed: 0, augment: {}, mean: [0.5], std: [0.5], train: parseTrainSelection(train),
  };
  let passEnd = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const onEvent = (e: TrainEvent) => {
    if (e.kind === 'features' && e.split === 'test' && e.done === e.total) passEnd = performance.now();
  };
  const outDir = mkdtempSync(join(tmpdir(), 'bench-finetune-run-'));
  // imported here: the trainer reaches sharp (image folders), which the step cases' bundle for a GPU machine does not
  // carry (scripts/device-bench.sh), so that bundle runs the step cases only
  const { train: trainRun } = await import('../src/train/trainer.ts');
  const r = await trainRun({ recipe, data, outDir, init: initParameters(cfg, { seed: 0 }), threads, device, onEvent });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    run_seconds: seconds,
    run_cpu_seconds: (cpu.user + cpu.system) / 1e6,
    features_ready_seconds: passEnd ? (passEnd - t0) / 1000 : 0,
    steps: r.step,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Runs `--child ARG` in a process of its own (bench/device-case.ts): its JSON, or `{ error }`. */
function child(arg: string): Promise<Record<string, unknown>> {
  const flags = ['--child', arg, '--device', device, '--steps', `${timedSteps}`];
  const run = ['--run-epochs', `${runEpochs}`, '--run-images', `${runImages}`];
  return caseInChild([...flags, ...run, ...(quick ? ['--quick'] : [])], device);
}

/** a / b where both were measured (a failed case has neither), else null. */
const ratio = (a: unknown, b: unknown): number | null => (typeof a === 'number' && typeof b === 'number' ? a / b : null);

async function speed(): Promise<void> {
  const rows: Record<string, Record<string, unknown>> = {};
  const setting = {
    model: quick ? 'micro ViT (quick)' : 'vit_base_patch16_224', img_size: speedConfig.imgSize, batch: speedBatch,
    optimizer: 'adamw', device, threads, ...(device === 'webgpu' ? gpuInfo() : {}), machine: machine(),
  };
  /** On WebGPU the GPU memory's ratio where nvidia-smi measured it, else why there is none. */
  const gpuMemory = (r: Record<string, unknown>, all: Record<string, unknown>) => (r.peak_gpu_memory_mb === null
    ? { peak_gpu_memory: NO_GPU_MEMORY }
    : { gpu_memory_vs_all: ratio(r.peak_gpu_memory_mb, all.peak_gpu_memory_mb) });
  for (const spec of SPEED_CASES) {
    const r = (rows[spec] = await child(spec));
    const all = rows['all']!;
    const ratios = {
      speedup_vs_all: ratio(r.images_per_sec, all.images_per_sec),
      // what the matrix products' arithmetic allows: the whole step's multiply-adds over this one's
      speedup_allowed_by_multiply_adds: ratio(all.multiply_adds_per_image, r.multiply_adds_per_image),
      ...(device === 'webgpu'
        ? gpuMemory(r, all)
        // CPU time holds when other work shares the cores (wall time does not)
        : {
          speedup_vs_all_by_cpu_time: ratio(all.cpu_seconds_per_step, r.cpu_seconds_per_step),
          rss_vs_all: ratio(r.peak_rss_mb, all.peak_rss_mb),
        }),
    };
    console.log(JSON.stringify({ part: 'speed', train: spec, ...setting, ...r, ...ratios }));
  }
  if (runEpochs === 0) return;
  const runs: Record<string, Record<string, unknown>> = {};
  for (const train of RUN_CASES) {
    const r = (runs[train] = await child(`run:${train}`));
    const all = runs['all']!;
    const ratios = {
      speedup_vs_all: ratio(all.run_seconds, r.run_seconds),
      ...(device === 'webgpu'
        ? gpuMemory(r, all)
        : { speedup_vs_all_by_cpu_time: ratio(all.run_cpu_seconds, r.run_cpu_seconds) }),
    };
    const run = { epochs: runEpochs, train_images: runImages, test_images: Math.max(1, runImages / 4) };
    console.log(JSON.stringify({ part: 'speed-run', train, ...setting, ...run, ...r, ...ratios }));
  }
}

/** The suite's targets and upstream ViT (its own settings, examples/transfer-suite.ts), then one finetune per choice. */
async function accuracy(): Promise<void> {
  const out = resolve(values.out ?? join(root, quick ? 'runs/bench-finetune-quick' : 'runs/bench-finetune'));
  mkdirSync(out, { recursive: true });
  const vitkit = vitkitRunner(out);
  const s = quick
    ? { perClass: 12, test: 20, upstreamPerClass: 60, pretrainSteps: 4, steps: 4, batch: 32 }
    : { perClass: undefined, test: undefined, upstreamPerClass: 5000, pretrainSteps: 1560, steps: 300, batch: 64 };
  const encoder = quick
    ? ['--dim', '32', '--depth', '1', '--heads', '2', '--mlp', '64']
    : ['--dim', '128', '--depth', '4', '--heads', '4', '--mlp', '256'];
  // imported here: it decodes with sharp, which the bundle for a GPU machine does not carry (see runCase)
  const { packageFolder } = await import('../examples/transfer-data.ts');
  const cifar = extractCifar(resolve(defaultArchive), out);
  const classes = readdirSync(join(cifar, 'train')).sort();
  const data = join(out, 'data');
  const seed = 0;
  const targets = {
    'CIFAR-10 5–9': {
      dir: classSubset(cifar, join(data, 'cifar-5-9-1k'), classes.slice(5), { train: s.perClass ?? 200, test: s.test }, seed),
      flip: true,
    },
    'Fashion-MNIST': { dir: await packageFolder('fashion-mnist', join(data, 'fashion-mnist-1k'), s.perClass ?? 100, seed, s.test), flip: true },
    MNIST: { dir: await packageFolder('mnist', join(data, 'mnist-1k'), s.perClass ?? 100, seed, s.test), flip: false },
  };
  let upstream = values.upstream;
  if (!upstream) {
    const dir = classSubset(
      cifar,
      join(data, `cifar-0-4-${s.upstreamPerClass}`),
      classes.slice(0, 5),
      { train: s.upstreamPerClass, test: s.test },
      seed,
    );
    const run = vitkit([
      'train', '--data', dir, '--img-size', '24', '--patch', '4', ...encoder,
      '--steps', `${s.pretrainSteps}`, '--warmup-steps', `${Math.ceil(s.pretrainSteps / 10)}`,
      '--batch', '128', '--lr', '0.0015', '--weight-decay', '0.05', '--label-smoothing', '0.1', '--flip', '--pad-crop', '3',
      '--out', join(out, 'upstream'), '--force',
    ]);
    upstream = result(run).best;
  }
  const choices = ['all', 'last:1', 'lora:8', 'head'];
  const table: Record<string, Record<string, number>> = {};
  for (const [name, t] of Object.entries(targets)) {
    for (const train of choices) {
      const run = vitkit([
        'finetune', '--checkpoint', upstream, '--data', t.dir, '--img-size', '32', '--train', train,
        '--steps', `${s.steps}`, '--warmup-steps', `${Math.ceil(s.steps / 10)}`,
        '--batch', `${s.batch}`, '--accum', '1', ...(t.flip ? ['--flip'] : []), '--pad-crop', '4', '--eval-every', '0',
        '--out', join(out, `ft-${name}-${train}`.replace(/[^\w.-]+/g, '_')), '--force',
      ]);
      (table[train] ??= {})[name] = result(run).test_acc;
      const row = { target: name, train, test_acc: result(run).test_acc, seconds: run.seconds, steps: s.steps, command: run.command };
      console.log(JSON.stringify({ part: 'accuracy', ...row, quick, machine: machine() }));
    }
  }
  for (const [train, accs] of Object.entries(table)) {
    const mean = Object.values(accs).reduce((a, b) => a + b, 0) / Object.values(accs).length;
    console.log(JSON.stringify({ part: 'accuracy-mean', train, mean_test_acc: mean, minus_all_points: 100 * (mean - meanOf(table['all']!)), quick }));
  }
}

const meanOf = (accs: Record<string, number>): number => Object.values(accs).reduce((a, b) => a + b, 0) / Object.values(accs).length;

if (values.child) console.log(JSON.stringify(values.child.startsWith('run:') ? await runCase(values.child.slice(4)) : await speedCase(values.child)));
else {
  if (part !== 'accuracy') await speed();
  if (part !== 'speed') await accuracy();
}
