// Training throughput: vitkit's whole step (forward, backward, clipping, AdamW in one graph) vs PyTorch + timm
// eager with the same model, loss and optimizer, measured in the same run. One JSON line per case.
// Run: npm run bench:train [-- --cases fmnist,fmnist-main-job,ti16 --seconds S --threads N]
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { type ViTConfig, defaultConfig, preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../src/train/recipe.ts';
import { machine, python } from './machine.ts';

const { values } = parseArgs({ options: { cases: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' } } });
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds ?? 15);

const fmnist: ViTConfig = { ...defaultConfig, ...fashionMnistRecipe.config };
const cases: Record<string, { config: ViTConfig; batch: number }> = {
  fmnist: { config: fmnist, batch: 128 }, // the batch
  'fmnist-main-job': { config: fmnist, batch: fashionMnistRecipe.batch },
  ti16: { config: preset('vit_tiny_patch16_224'), batch: 32 },
};

async function vitkit(config: ViTConfig, batch: number): Promise<number> {
  const session = await TrainSession.create(config, initParameters(config, { seed: 0 }), {
    batch,
    optimizer: { kind: 'adamw', weightDecay: 0.05 },
    labelSmoothing: 0.1,
    clipNorm: 1,
    threads,
  });
  const x = Float32Array.from({ length: batch * config.inChans * config.imgSize ** 2 }, (_, i) => Math.sin(i));
  const y = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % config.numClasses));
  for (let i = 0; i < 3; i++) await session.step(x, y, 1e-3);
  let runs = 0;
  const start = performance.now();
  while (runs < 5 || performance.now() - start < seconds * 1000) {
    await session.step(x, y, 1e-3);
    runs++;
  }
  const perStep = (performance.now() - start) / runs;
  await session.release();
  return (batch * 1000) / perStep;
}

function pytorch(c: ViTConfig, batch: number): Record<string, unknown> {
  const kw = { img_size: c.imgSize, patch_size: c.patchSize, in_chans: c.inChans, embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpDim / c.embedDim, num_classes: c.numClasses };
  const script = new URL('./reference_train.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, JSON.stringify(kw), String(batch), String(threads), String(seconds)], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { reference_error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

for (const name of (values.cases ?? 'fmnist,fmnist-main-job,ti16').split(',')) {
  const c = cases[name];
  if (!c) throw new Error(`unknown case '${name}' (expected ${Object.keys(cases).join('|')})`);
  const ours = await vitkit(c.config, c.batch);
  const ref = pytorch(c.config, c.batch);
  const ratio = typeof ref.pytorch_images_per_sec === 'number' ? ours / ref.pytorch_images_per_sec : null;
  console.log(JSON.stringify({ case: name, batch: c.batch, threads, machine: machine(), vitkit_images_per_sec: ours, ...ref, ratio_vs_pytorch: ratio }));
}
