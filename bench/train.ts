// Training throughput: vitkit's whole step (forward, backward, clipping, AdamW in one graph) vs PyTorch + timm
// eager with the same model, loss and optimizer, measured in the same run. One JSON line per case, with the CPU
// (model, AVX-512/VNNI/AMX flags) and each side's peak resident memory: every vitkit case runs in a child process
// of its own, so its peak RSS is that case's alone (the reference script reports its own process's).
// Run: npm run bench:train [-- --cases ti16,fmnist-main-job,s16 --seconds S --threads N]
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ViTConfig } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import { machine, python } from './machine.ts';
import { benchStep, timmKwargs, trainCase } from './train-cases.ts';

const { values } = parseArgs({
  options: { cases: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' }, child: { type: 'string' } },
});
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds ?? 15);

async function vitkit(config: ViTConfig, batch: number): Promise<number> {
  const session = await TrainSession.create(config, initParameters(config, { seed: 0 }), { engine: nodeEngine, batch, ...benchStep, threads });
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

/** One case's vitkit figures, measured in a fresh process (see the file comment). */
function vitkitChild(name: string): Record<string, unknown> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--threads', String(threads), '--seconds', String(seconds)];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) throw new Error(`vitkit case ${name} failed: ${(r.stderr || String(r.error)).trim()}`);
  return JSON.parse(line) as Record<string, unknown>;
}

function pytorch(c: ViTConfig, batch: number): Record<string, unknown> {
  const kw = timmKwargs(c);
  const script = new URL('./reference_train.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, JSON.stringify(kw), String(batch), String(threads), String(seconds)], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { reference_error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

if (values.child) {
  const c = trainCase(values.child);
  const imagesPerSec = await vitkit(c.config, c.batch);
  console.log(JSON.stringify({ vitkit_images_per_sec: imagesPerSec, vitkit_peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
} else {
  for (const name of (values.cases ?? 'ti16,fmnist-main-job,s16').split(',')) {
    const c = trainCase(name);
    const ours = vitkitChild(name);
    const ref = pytorch(c.config, c.batch);
    const ratio = typeof ref.pytorch_images_per_sec === 'number' ? (ours.vitkit_images_per_sec as number) / ref.pytorch_images_per_sec : null;
    console.log(JSON.stringify({ case: name, batch: c.batch, threads, machine: machine(), ...ours, ...ref, ratio_vs_pytorch: ratio }));
  }
}
