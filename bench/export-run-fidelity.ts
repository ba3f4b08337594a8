// export-run's fidelity, measured: the same recipe trained by vitkit and by the exported folder's train.py
// (torchrun, gloo on the CPU) with 1 and with 2 processes, augmentation off: the per-step losses and learning rates
// side by side, the weights after the last step, and the 2-process weights loaded back into `vitkit eval`.
// Then a continuation (export-run --from): vitkit trains steps N+1…2N of a 2N-step recipe (with an EMA) after
// stopping at N, and train.py continues the step-N checkpoint's export with 1 and 2 processes; and, to show the carried
// optimizer state matters, train.py continuing with it left out (AdamW's moments and step, the EMA restarted).
//
// Run: VITKIT_PYTHON=/path/to/venv/bin/python node --import tsx bench/export-run-fidelity.ts [--steps N] [--images N] [--out DIR]
//      [--optimizer adamw|sgd] [--lr LR]
// (the Python needs torch, timm, safetensors and pillow; torchrun is taken from the same bin/ folder). Where the
// torchvision wheel is a CUDA build beside a CPU-only torch (as on the project's machines), add
// PYTHONPATH=$PWD/bench/torchvision-shim (absolute: run.sh runs in the exported folder) so that timm's import of
// torchvision does not fail.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { planTrain, trainOptions } from '../src/cli/train.ts';
import { parseCommand } from '../src/cli/args.ts';
import { type ImageSet, subset } from '../src/data/image-set.ts';
import { continuedRun } from '../src/export-run/continued.ts';
import { exportRun } from '../src/export-run/export-run.ts';
import { initParameters } from '../src/model/init.ts';
import { stateName } from '../src/model/step-graph.ts';
import { loadTrainCheckpoint } from '../src/train/checkpoints.ts';
import { train } from '../src/train/trainer.ts';
import { loadCheckpoint } from '../src/weights/checkpoint.ts';
import { machine, python } from './machine.ts';

const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' }, images: { type: 'string', default: '2048' },
    out: { type: 'string', default: '/tmp/vitkit-export-run-fidelity' },
    optimizer: { type: 'string', default: 'adamw' }, lr: { type: 'string', default: '1e-3' },
  },
});
const steps = o.steps!;
// the default model and data; a short warm-up so that the steps move the weights; nothing random but the init
const flags = ['--steps', steps, '--batch', '64', '--warmup-steps', '3', '--lr', o.lr!, '--optimizer', o.optimizer!, '--seed', '0'];
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

/** `folder`'s train.py under torchrun with `nproc` processes (gloo) and its own step count, its outputs in `output`. */
function torchrun(folder: string, nproc: number, output: string, extra: string[] = []): Step[] {
  const env = { ...process.env, NPROC_PER_NODE: String(nproc), PATH: `${dirname(python)}:${process.env.PATH}` };
  const args = [join(folder, 'run.sh'), '--log-every', '1', '--workers', '0', '--output', output, ...extra];
  const r = spawnSync('bash', args, { env, encoding: 'utf8', timeout: 900_000 }); // a hung rank fails the bench
  if (r.status !== 0) throw new Error(`run.sh with ${nproc} process(es) failed:\n${r.stderr.slice(-3000)}`);
  return stepsOf(output);
}
const one = torchrun(out, 1, join(out, 'output-1proc'));
const two = torchrun(out, 2, join(out, 'output'));
const ours = stepsOf(vitkitDir);

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const worst = (a: Step[], b: Step[], k: keyof Step) => Math.max(...a.map((s, i) => rel(s[k], b[i]![k])));
type Weights = ReadonlyMap<string, { readonly data: unknown }>;
const weightsOf = (path: string): Weights => loadCheckpoint(path).weights;
const maxAbs = (x: Weights, y: Weights) =>
  Math.max(...[...x].map(([k, t]) => Math.max(...Array.from(t.data as Float32Array, (v, i) => Math.abs(v - (y.get(k)!.data as Float32Array)[i]!)))));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const evalArgs = ['eval', '--checkpoint', join(out, 'output', 'model.safetensors'), '--data', recipe.data, '--json'];
const evaluated = spawnSync(process.execPath, ['--import', 'tsx', cli, ...evalArgs], { encoding: 'utf8' });
if (evaluated.status !== 0) throw new Error(`vitkit eval of the 2-process weights failed: ${evaluated.stderr}`);

// the continuation: a 2N-step recipe with an EMA, stopped after N steps (as an interrupted run is), then (a) resumed
// by vitkit and (b) exported from its step-N checkpoint and continued by train.py
const n = Number(steps);
const long = { ...recipe, steps: 2 * n, ema: 0.9 };
const contDir = join(o.out!, 'vitkit-continued');
const stop = new AbortController();
const stopAtN = (e: { kind: string; step?: number }) => e.kind === 'step' && e.step === n && stop.abort();
await train({ recipe: long, data, outDir: contDir, logEvery: 1, replace: true, workers: 1, signal: stop.signal, onEvent: stopAtN });
const atN = loadTrainCheckpoint(contDir);
if (atN.progress.step !== n) throw new Error(`the first half stopped at step ${atN.progress.step}, not ${n}`);
const contOut = join(o.out!, 'continued');
await exportRun(contOut, await continuedRun(atN, async () => data, 'train (continued)'), { force: true });
await train({ recipe: long, data, outDir: contDir, logEvery: 1, workers: 1, resume: atN });
// what --from gave before it carried the state: the same folder with recipe.json's `resume` left out
const { resume: carried, ...restart } = JSON.parse(readFileSync(join(contOut, 'recipe.json'), 'utf8')) as Record<string, unknown>;
if (!carried) throw new Error('the continued export carries no state');
writeFileSync(join(contOut, 'recipe-restart.json'), JSON.stringify(restart));
const cOne = torchrun(contOut, 1, join(contOut, 'output-1proc'));
const cTwo = torchrun(contOut, 2, join(contOut, 'output'));
const cRestart = torchrun(contOut, 1, join(contOut, 'output-restart'), ['--recipe', join(contOut, 'recipe-restart.json')]);
const cOurs = stepsOf(contDir).filter((s) => s.step > n);
const end = loadTrainCheckpoint(contDir);
const vitkitRaw = weightsOf(end.path);
const vitkitEma = new Map([...vitkitRaw.keys()].map((k) => [k, end.state.get(stateName('ema', k))!]));
// train.py writes the EMA as output/model.safetensors, the raw weights in output/last/
const raw = (dir: string) => weightsOf(join(contOut, dir, 'last'));
const ema = (dir: string) => weightsOf(join(contOut, dir));

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
    torch1VsVitkit: maxAbs(weightsOf(join(out, 'output-1proc')), weightsOf(join(vitkitDir, 'best.safetensors'))),
    torch2VsTorch1: maxAbs(weightsOf(join(out, 'output')), weightsOf(join(out, 'output-1proc'))),
  },
  vitkitEvalOfTorch2: JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as unknown,
  continuation: {
    recipe: { steps: 2 * n, continuedAfter: n, ema: long.ema, optimizer: recipe.optimizer.kind },
    losses: cOurs.map((s, i) => ({ step: s.step, vitkit: s.loss, torch1: cOne[i]!.loss, torch2: cTwo[i]!.loss, torchRestart: cRestart[i]!.loss })),
    maxRelLoss: {
      torch1VsVitkit: worst(cOne, cOurs, 'loss'),
      torch2VsTorch1: worst(cTwo, cOne, 'loss'),
      restartVsVitkit: worst(cRestart, cOurs, 'loss'),
    },
    maxRelLr: { torch1VsVitkit: worst(cOne, cOurs, 'lr') },
    maxRelGradNorm: { torch1VsVitkit: worst(cOne, cOurs, 'grad_norm'), restartVsVitkit: worst(cRestart, cOurs, 'grad_norm') },
    maxAbsWeightDiff: {
      torch1VsVitkit: maxAbs(raw('output-1proc'), vitkitRaw), torch2VsTorch1: maxAbs(raw('output'), raw('output-1proc')),
      restartVsVitkit: maxAbs(raw('output-restart'), vitkitRaw),
    },
    maxAbsEmaDiff: { torch1VsVitkit: maxAbs(ema('output-1proc'), vitkitEma), restartVsVitkit: maxAbs(ema('output-restart'), vitkitEma) },
  },
}, null, 2));
