// Fine-tuning in the browser vs in Node: the same TrainSession step (the `npm start` model, 0.41M parameters;
// AdamW, clipping) on onnxruntime-web in Debian's chromium (WASM SIMD, 2 threads, the page cross-origin
// isolated) and on onnxruntime-node (2 threads), measured in the same run. One JSON line per case with the CPU.
// The page's figure is what the teach mode reaches: its steps run in a worker, which costs nothing measurable.
// Run: npm run bench:web-train [-- --steps N]
import { parseArgs } from 'node:util';
import { checkConfig, defaultConfig } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { Rng } from '../src/rng.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { type Freeze, fashionMnistRecipe, trainableRule } from '../src/train/recipe.ts';
import { launchChromium } from '../test/web/chromium.ts';
import { buildHarness, serveHarness } from '../test/web/harness.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({ options: { steps: { type: 'string' } } });
const STEPS = Number(values.steps ?? 30);
const WARMUP = 3;
const THREADS = 2;
const CASES: readonly { name: string; batch: number; freeze: Freeze }[] = [
  { name: 'teach-full', batch: 16, freeze: 'none' },
  { name: 'teach-head', batch: 16, freeze: 'backbone' },
  { name: 'fmnist-main-job', batch: 64, freeze: 'none' },
];

const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
const options = { optimizer: { kind: 'adamw' as const, weightDecay: 0.05 }, clipNorm: 1 };
const params = initParameters(config, { seed: 0 });
const lrs = Array<number>(WARMUP + STEPS).fill(1e-4);

function batchOf(n: number): { images: Float32Array; labels: BigInt64Array } {
  const rng = new Rng(n);
  return { images: Float32Array.from({ length: n * 28 * 28 }, () => rng.normal()), labels: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)) };
}

/** Images per second over the timed steps (the warm-up ones left out). */
const rate = (batch: number, stepMs: readonly number[]): number => (batch * STEPS * 1000) / stepMs.slice(WARMUP).reduce((s, v) => s + v, 0);

async function node(batch: number, freeze: Freeze): Promise<number> {
  const s = await TrainSession.create(config, params, { ...options, batch, trainable: trainableRule(freeze), engine: nodeEngine, threads: THREADS });
  const { images, labels } = batchOf(batch);
  const ms: number[] = [];
  for (const lr of lrs) {
    const t0 = performance.now();
    await s.step(images, labels, lr);
    ms.push(performance.now() - t0);
  }
  await s.release();
  return rate(batch, ms);
}

const dir = await buildHarness();
const browser = await launchChromium();
try {
  for (const c of CASES) {
    const nodeRate = await node(c.batch, c.freeze);
    const { images, labels } = batchOf(c.batch);
    const server = await serveHarness(dir, new Map([
      ...params,
      ['images', { dtype: 'float32', shape: [c.batch, 1, 28, 28], data: images }],
      ['labels', { dtype: 'int64', shape: [c.batch], data: labels }],
    ]), { config, options: { ...options, batch: c.batch }, freeze: c.freeze, lrs, states: false });
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-state=ready]', { state: 'attached' });
    const got = await page.evaluate(() => (window as unknown as { runCase: () => Promise<{ stepMs: number[]; threads: number }> }).runCase());
    await page.close();
    await server.close();
    const webRate = rate(c.batch, got.stepMs);
    console.log(JSON.stringify({
      case: c.name, batch: c.batch, trains: c.freeze === 'none' ? 'all' : 'head', steps: STEPS, threads: { node: THREADS, web: got.threads },
      machine: machine(), node_images_per_sec: nodeRate, web_images_per_sec: webRate, web_over_node: webRate / nodeRate,
    }));
  }
} finally {
  await browser.close();
}
