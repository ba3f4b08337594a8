// Running a training recipe from the CLI, shared by `vitkit train` and `vitkit finetune`: the run directory checks,
// Ctrl-C handling, progress bars or JSON lines, and the closing summary with a few sample predictions.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Batches } from '../data/batches.ts';
import type { Dataset } from '../data/image-set.ts';
import { subset } from '../data/image-set.ts';
import { UserError } from '../errors.ts';
import type { StateDict } from '../graph/tensor.ts';
import { Classifier, loadModel, topK } from '../inference/classifier.ts';
import type { TrainProgress } from '../train/checkpoints.ts';
import type { TrainRecipe } from '../train/recipe.ts';
import { type TrainEvent, train } from '../train/trainer.ts';
import { printJson } from './json-output.ts';
import { type Progress, progressBar } from './progress.ts';
import type { RunOptions } from './training-flags.ts';

/** The default run directory for a dataset spec: `runs/<prefix><spec as a safe name>`. */
export function defaultRunDir(spec: string, prefix = ''): string {
  return `runs/${prefix}${spec.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '')}`;
}

/** Refuses to train into a directory that holds a run unless resuming or forced; clears it when forced. */
export function prepareRunDir(outDir: string, opts: { readonly resuming: boolean; readonly force?: boolean }): void {
  if (opts.resuming) return;
  if (!opts.force && existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new UserError(`${outDir} already holds a run: pass --resume ${outDir} to continue it, --out DIR for a new one, or --force to replace it`);
  }
  if (opts.force) for (const f of ['metrics.jsonl', 'checkpoints', 'best.safetensors']) rmSync(join(outDir, f), { recursive: true, force: true });
}

/** Human output: a progress bar per epoch with loss, accuracy, LR, images/s and ETA. */
function humanReporter(): (e: TrainEvent) => void {
  let bar: Progress | null = null;
  let perEpoch = 0;
  return (e) => {
    if (e.kind === 'start') {
      perEpoch = e.stepsPerEpoch;
      const frozen = e.trainable < e.parameters ? ` (${e.trainable.toLocaleString('en-US')} trainable)` : '';
      console.error(`training ${e.parameters.toLocaleString('en-US')} parameters${frozen}, ${e.totalSteps} steps (${e.stepsPerEpoch} per epoch)${e.step ? `, resuming at step ${e.step}` : ''}`);
    } else if (e.kind === 'step') {
      bar ??= progressBar(`epoch ${e.epoch + 1}`, perEpoch, '{bar} {value}/{total} loss {loss} acc {acc} lr {lr} {ips} img/s eta {eta_formatted}');
      bar.update(((e.step - 1) % perEpoch) + 1, { loss: e.loss.toFixed(3), acc: e.acc.toFixed(3), lr: e.lr.toExponential(1), ips: e.imagesPerSec.toFixed(0) });
    } else if (e.kind === 'evaluating') {
      bar?.stop();
      bar = null;
    } else if (e.kind === 'epoch') {
      bar?.stop(); // an epoch without evaluation sends no 'evaluating' event
      bar = null;
      const test = e.testAcc === undefined ? '' : `, test loss ${e.testLoss.toFixed(4)} acc ${(100 * e.testAcc).toFixed(2)}%`;
      console.error(`epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)} acc ${(100 * e.trainAcc).toFixed(2)}%${test}`);
    }
  };
}

/** A few test images with their predicted and true classes, from the saved best model. */
async function showPredictions(best: string, data: Dataset): Promise<void> {
  const model = loadModel(best);
  const classifier = await Classifier.create(model, { outputs: ['logits'] });
  const n = Math.min(8, data.test.n);
  const spread = Array.from({ length: n }, (_, i) => Math.floor((i * data.test.n) / n)); // across classes
  const b = new Batches(subset(data.test, spread, 'samples'), { batchSize: n, shuffle: false, mean: model.preprocess.mean, std: model.preprocess.std }).next();
  const { logits } = await classifier.run(b.x);
  const k = model.config.numClasses;
  console.log('sample test predictions:');
  for (let i = 0; i < n; i++) {
    const [top] = topK((logits!.data as Float32Array).subarray(i * k, (i + 1) * k), 1, model.labels);
    const truth = data.test.classes[Number(b.y.data[i])]!;
    console.log(`  ${top!.label === truth ? '✓' : '✗'} predicted ${top!.label.padEnd(12)} (${(100 * top!.prob).toFixed(1)}%)  true ${truth}`);
  }
  await classifier.release();
}

export interface CliRun {
  readonly recipe: TrainRecipe;
  readonly data: Dataset;
  readonly outDir: string;
  readonly resume?: { readonly state: StateDict; readonly progress: TrainProgress };
  readonly init?: StateDict;
  readonly options: RunOptions;
  /** The command to resume with, for the interrupted message (e.g. 'vitkit train'). */
  readonly command: string;
}

/** Trains with Ctrl-C saving a checkpoint, reports as asked, and ends with a summary (exit code 130 if interrupted). */
export async function runTraining(c: CliRun): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: stop now
    console.error('\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const jsonReporter = (e: TrainEvent) => e.kind === 'epoch' && printJson(e);
  const { json, deviceNote, ...loop } = c.options;
  if (!json && (deviceNote || loop.device !== 'cpu')) console.error(deviceNote ?? `training on ${loop.device}`);
  const r = await train({
    recipe: c.recipe,
    data: c.data,
    outDir: c.outDir,
    resume: c.resume,
    init: c.init,
    ...loop,
    signal: controller.signal,
    onEvent: json ? jsonReporter : humanReporter(),
  }).finally(() => process.off('SIGINT', onSigint));

  if (json) printJson({ kind: 'result', ...r, outDir: c.outDir });
  else if (r.status === 'interrupted') console.error(`stopped at step ${r.step}; checkpoint ${r.checkpoint}\nresume with: ${c.command} --resume ${c.outDir}`);
  else {
    const ema = c.recipe.ema ? ' (EMA weights)' : '';
    console.log(`test accuracy${ema} ${(100 * r.testAcc).toFixed(2)}% (best ${(100 * r.bestTestAcc).toFixed(2)}%) after ${r.step} steps in ${r.seconds.toFixed(0)} s`);
    console.log(`checkpoint: ${r.checkpoint}\nbest model: ${r.best}  (try: vitkit eval --checkpoint ${r.best} --data ${c.recipe.data})`);
    await showPredictions(r.best, c.data);
  }
  if (r.status === 'interrupted') process.exitCode = 130;
}
