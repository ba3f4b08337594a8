// Fine-tuning in the browser vs in Node: the same TrainSession step (the `npm start` model, 0.41M parameters;
// AdamW, clipping) on onnxruntime-web in Debian's chromium (WASM SIMD, the page cross-origin isolated) and on
// onnxruntime-node, with the same thread count, measured in the same run. One JSON line per case and thread count,
// with the CPU. Two measures: images per second of wall time (what a user sees on an idle machine), and CPU time
// per image (every chromium process's, or Node's own, around the timed steps), which holds when something else
// shares the cores. The teach mode runs the same steps in a worker.
// The `-cached` cases are the step a teach run without flip and crop takes: on the frozen part's output computed once
// (the tokens entering block 1 for last:2, the head's input for head), fed in place of images.
// `whole-2-blocks` is the whole step of the same model with 2 blocks: about the work of a `last:2` step, whose two
// trained blocks each need their whole backward (the lowest one's first product's input gradient aside), so it
// shows what `last:2` can gain on the 3-block model at most, whatever the engine. Each line also gives the step graph's
// matrix products' multiply-adds per image and the whole step's over them: the speed-up the arithmetic allows.
// Run: npm run bench:web-train [-- --steps N --threads 1,2 --cases teach-full,teach-last2,teach-last2-cached,teach-lora8,
//        teach-head,teach-head-cached,whole-2-blocks,fmnist-main-job] (cases run in the order given, repeats too)
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type ViTConfig, checkConfig, defaultConfig } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { Rng } from '../src/rng.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../src/train/recipe.ts';
import { cachedStart, parseTrainSelection, selectionRule } from '../src/model/trainable.ts';
import { type GraphStart, buildStepGraph, exampleInput } from '../src/model/step-graph.ts';
import { multiplyAdds } from '../src/graph/flops.ts';
import { type StateDict, numel } from '../src/graph/tensor.ts';
import { launchChromium } from '../test/web/chromium.ts';
import { buildHarness, serveHarness } from '../test/web/harness.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({ options: { steps: { type: 'string' }, threads: { type: 'string' }, cases: { type: 'string' } } });
const STEPS = Number(values.steps ?? 20);
const WARMUP = 3;
const THREADS = (values.threads ?? '1,2').split(',').map(Number);
/**
 * `train`: what trains, as `--train` spells it (model/trainable.ts), the page's teach choices; `depth`: the model's
 * blocks, when not the `npm start` model's.
 */
const ALL_CASES: readonly { name: string; batch: number; train: string; cached?: boolean; depth?: number }[] = [
  { name: 'teach-full', batch: 16, train: 'all' },
  { name: 'teach-last2', batch: 16, train: 'last:2' },
  { name: 'teach-last2-cached', batch: 16, train: 'last:2', cached: true },
  { name: 'teach-lora8', batch: 16, train: 'lora:8' },
  { name: 'teach-head', batch: 16, train: 'head' },
  { name: 'teach-head-cached', batch: 16, train: 'head', cached: true },
  { name: 'whole-2-blocks', batch: 16, train: 'all', depth: 2 },
  { name: 'fmnist-main-job', batch: 64, train: 'all' },
];
/** The cases in the order given, repeats included: interleaving reruns of the whole step shows the machine's drift. */
const CASES = values.cases?.split(',').map((name) => {
  const c = ALL_CASES.find((k) => k.name === name);
  if (!c) throw new Error(`--cases: no case '${name}' (have ${ALL_CASES.map((k) => k.name).join(', ')})`);
  return c;
}) ?? ALL_CASES;

const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
type Case = (typeof ALL_CASES)[number];
/** A case's model: the `npm start` model, or it with `depth` blocks. */
const configOf = (c: Case): ViTConfig => (c.depth ? checkConfig({ ...config, depth: c.depth }) : config);
const options = { optimizer: { kind: 'adamw' as const, weightDecay: 0.05 }, clipNorm: 1 };
const lrs = Array<number>(WARMUP + STEPS).fill(1e-4);

/** Where a case's step graph starts: images, or (cached) above the frozen part. */
const startOf = (c: Case) => (c.cached ? cachedStart(configOf(c), parseTrainSelection(c.train)) : undefined);

/** A batch of what the case's step takes per example (images, or the frozen part's output), and labels. */
function batchOf(c: Case, start?: GraphStart): { images: Float32Array; labels: BigInt64Array; shape: number[] } {
  const n = c.batch;
  const rng = new Rng(n);
  const shape = exampleInput(configOf(c), start).shape;
  const images = Float32Array.from({ length: n * numel(shape) }, () => rng.normal());
  return { images, labels: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)), shape: [n, ...shape] };
}

/** The multiply-adds per image of a case's step graph's matrix products (graph/flops.ts): the step's arithmetic. */
function multiplyAddsPerImage(c: Case): number {
  const sel = parseTrainSelection(c.train);
  const cfg = configOf(c);
  const spec = buildStepGraph(cfg, { ...options, batch: c.batch, trainable: selectionRule(cfg, sel), lora: sel.lora, start: startOf(c) });
  return multiplyAdds(spec.graph.nodes) / c.batch;
}
/** The whole step's (teach-full): over a case's, the speed-up the arithmetic allows, beside the measured one. */
const WHOLE_STEP_MULTIPLY_ADDS = multiplyAddsPerImage(ALL_CASES[0]!);

/** Images per second over the timed steps (the warm-up ones left out). */
const rate = (batch: number, stepMs: readonly number[]): number => (batch * STEPS * 1000) / stepMs.slice(WARMUP).reduce((s, v) => s + v, 0);

/** CPU milliseconds used so far by every chromium process (all their threads: the page's WASM threads too). */
function chromiumCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // it ended meanwhile
    }
    if (!stat.includes('(chromium)')) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]); // utime, stime
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function node(c: Case, params: StateDict, threads: number, start?: GraphStart): Promise<{ rate: number; cpuMsPerImage: number }> {
  const { batch } = c;
  const selection = parseTrainSelection(c.train);
  const cfg = configOf(c);
  const s = await TrainSession.create(cfg, params, {
    ...options,
    batch,
    trainable: selectionRule(cfg, selection),
    lora: selection.lora,
    engine: nodeEngine,
    threads,
    start,
  });
  const { images, labels } = batchOf(c, start);
  const ms: number[] = [];
  let cpu0 = 0;
  for (const [i, lr] of lrs.entries()) {
    if (i === WARMUP) cpu0 = cpuMs();
    const t0 = performance.now();
    await s.step(images, labels, lr);
    ms.push(performance.now() - t0);
  }
  const cpu = cpuMs() - cpu0;
  await s.release();
  return { rate: rate(batch, ms), cpuMsPerImage: cpu / (STEPS * batch) };
}

const dir = await buildHarness();
const browser = await launchChromium();
type RunCase = (steps?: number) => Promise<{ stepMs: number[]; threads: number }>;
try {
  for (const threads of THREADS) {
    for (const c of CASES) {
      const start = startOf(c);
      const params = initParameters(configOf(c), { seed: 0 });
      const ours = await node(c, params, threads, start);
      const { images, labels, shape } = batchOf(c, start);
      const server = await serveHarness(dir, new Map([
        ...params,
        ['images', { dtype: 'float32', shape, data: images }],
        ['labels', { dtype: 'int64', shape: [c.batch], data: labels }],
      ]), { config: configOf(c), options: { ...options, batch: c.batch, start }, train: c.train, lrs, states: false, threads });
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForSelector('body[data-state=ready]', { state: 'attached' });
      // Once to start the runtime (compiling its WebAssembly, starting threads); then the warm-up steps alone, and
      // warm-up + timed steps: the difference in CPU time is the timed steps'.
      const warm = (): Promise<unknown> => page.evaluate((n) => (window as unknown as { runCase: RunCase }).runCase(n), WARMUP);
      await warm();
      let t = chromiumCpuMs();
      await warm();
      const warmCpu = chromiumCpuMs() - t;
      t = chromiumCpuMs();
      const got = await page.evaluate(() => (window as unknown as { runCase: RunCase }).runCase());
      const webCpu = chromiumCpuMs() - t - warmCpu;
      await page.close();
      await server.close();
      const web = { rate: rate(c.batch, got.stepMs), cpuMsPerImage: webCpu / (STEPS * c.batch) };
      const multiplyAddsPerStepImage = multiplyAddsPerImage(c);
      console.log(JSON.stringify({
        case: c.name, blocks: configOf(c).depth, batch: c.batch, trains: c.train, steps: STEPS, threads: { node: threads, web: got.threads },
        machine: machine(),
        node_images_per_sec: ours.rate, web_images_per_sec: web.rate, web_over_node: web.rate / ours.rate,
        node_cpu_ms_per_image: ours.cpuMsPerImage, web_cpu_ms_per_image: web.cpuMsPerImage,
        web_over_node_by_cpu_time: ours.cpuMsPerImage / web.cpuMsPerImage,
        step_multiply_adds_per_image: multiplyAddsPerStepImage,
        whole_step_over_this_by_multiply_adds: WHOLE_STEP_MULTIPLY_ADDS / multiplyAddsPerStepImage,
      }));
    }
  }
} finally {
  await browser.close();
}
