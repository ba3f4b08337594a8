// export-run's fidelity, measured: the same recipe trained by vitkit and by the exported folder's train.py
// (torchrun, gloo on the CPU) with 1 and with 2 processes, augmentation off: the per-step losses and learning rates
// side by side, the weights after the last step, and the 2-process weights loaded back into `vitkit eval`.
//
// Run: VITKIT_PYTHON=/path/to/venv/bin/python node --import tsx bench/export-run-fidelity.ts [--steps N] [--images N] [--out DIR]
// (the Python needs torch, timm, safetensors and pillow; torchrun is taken from the same bin/ folder). Where the
// torchvision wheel is a CUDA build beside a CPU-only torch (as on the project's machines), add
// PYTHONPATH=bench/torchvision-shim so that timm's import of torchvision does not fail.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { planTrain, trainOptions } from '../src/cli/train.ts';
import { parseCommand } from '../src/cli/args.ts';
import { type ImageSet, subset } from '../src/data/image-set.ts';
import { exportRun } from '../src/export-run/export-run.ts';
import { initParameters } from '../src/model/init.ts';
import { train } from '../src/train/trainer.ts';
import { loadCheckpoint } from '../src/weights/checkpoint.ts';
import { machine, python } from './machine.ts';

const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' }, images: { type: 'string', default: '2048' },
    out: { type: 'string', default: '/tmp/vitkit-export-run-fidelity' },
  },
});
const steps = o.steps!;
// the default model and data; a short warm-up so that the steps move the weights; nothing random but the init
const flags = ['--steps', steps, '--batch', '64', '--warmup-steps', '3', '--lr', '1e-3', '--seed', '0'];
const planned = await planTrain(parseCommand('train', flags, trainOptions, '')!.values);
// --images training and test images spread over each split (the loaders keep a class's images together), so that
// the export stays small; the steps read only the first batches anyway
const spread = (set: ImageSet) => {
  const n = Math.min(set.n, Number(o.images));
  return subset(set, Array.from({ length: n }, (_, i) => Math.floor((i * set.n) / n)), set.name);
};
const data = { ...planned.data, train: spread(planned.data.train), test: spread(planned.data.test) };
const recipe = planned.recipe;
const out = join(o.out!, 'export');
await exportRun(out, { recipe, data, init: initParameters(recipe.config, { seed: recipe.seed }), command: 'train', evalEvery: 1 }, { force: true });
const vitkitDir = join(o.out!, 'vitkit');
await train({ recipe, data, outDir: vitkitDir, logEvery: 1, replace: true, workers: 1 });

type Step = { step: number; loss: number; lr: number; grad_norm: number };
const stepsOf = (dir: string): Step[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as Step & { kind: string }).filter((r) => r.kind === 'step');

/** train.py under torchrun with `nproc` processes (gloo), its outputs in `output`. */
function torchrun(nproc: number, output: string): Step[] {
  const env = { ...process.env, NPROC_PER_NODE: String(nproc), PATH: `${dirname(python)}:${process.env.PATH}` };
  const r = spawnSync('bash', [join(out, 'run.sh'), '--steps', steps, '--log-every', '1', '--workers', '0', '--output', output], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`run.sh with ${nproc} process(es) failed:\n${r.stderr.slice(-3000)}`);
  return stepsOf(output);
}
const one = torchrun(1, join(out, 'output-1proc'));
const two = torchrun(2, join(out, 'output'));
const ours = stepsOf(vitkitDir);

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const worst = (a: Step[], b: Step[], k: keyof Step) => Math.max(...a.map((s, i) => rel(s[k], b[i]![k])));
const maxAbs = (a: string, b: string) => {
  const [x, y] = [loadCheckpoint(a).weights, loadCheckpoint(b).weights];
  return Math.max(...[...x].map(([k, t]) => Math.max(...Array.from(t.data as Float32Array, (v, i) => Math.abs(v - (y.get(k)!.data as Float32Array)[i]!)))));
};
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const evalArgs = ['eval', '--checkpoint', join(out, 'output', 'model.safetensors'), '--data', recipe.data, '--json'];
const evaluated = spawnSync(process.execPath, ['--import', 'tsx', cli, ...evalArgs], { encoding: 'utf8' });
if (evaluated.status !== 0) throw new Error(`vitkit eval of the 2-process weights failed: ${evaluated.stderr}`);

console.log(JSON.stringify({
  machine: machine(),
  python,
  recipe: {
    data: recipe.data, steps: Number(steps), batch: recipe.batch, lr: recipe.lr, warmupSteps: recipe.warmupSteps,
    labelSmoothing: recipe.labelSmoothing, weightDecay: recipe.optimizer.weightDecay,
  },
  losses: ours.map((s, i) => ({ step: s.step, vitkit: s.loss, torch1: one[i]!.loss, torch2: two[i]!.loss })),
  maxRelLoss: { torch1VsVitkit: worst(one, ours, 'loss'), torch2VsTorch1: worst(two, one, 'loss') },
  maxRelLr: { torch1VsVitkit: worst(one, ours, 'lr'), torch2VsTorch1: worst(two, one, 'lr') },
  maxRelGradNorm: { torch1VsVitkit: worst(one, ours, 'grad_norm') },
  maxAbsWeightDiff: {
    torch1VsVitkit: maxAbs(join(out, 'output-1proc'), join(vitkitDir, 'best.safetensors')),
    torch2VsTorch1: maxAbs(join(out, 'output'), join(out, 'output-1proc')),
  },
  vitkitEvalOfTorch2: JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as unknown,
}, null, 2));
