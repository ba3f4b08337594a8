// Running a training recipe from the CLI, shared by `vitkit train` and `vitkit finetune`: the run directory checks,
// Ctrl-C handling, progress bars or JSON lines, and the closing summary with a few sample predictions.
import { existsSync, readdirSync } from 'node:fs';
import { Batches } from '../data/batches.ts';
import type { Dataset } from '../data/image-set.ts';
import { subset } from '../data/image-set.ts';
import { UserError } from '../errors.ts';
import { Classifier, loadModel, topK } from '../inference/classifier.ts';
import type { TrainCheckpoint } from '../train/checkpoints.ts';
import type { TrainRecipe } from '../train/recipe.ts';
import { type TrainEvent, type TrainResult, type TrainRun, finishedResult, isFinished, train } from '../train/trainer.ts';
import { printJson } from './json-output.ts';
import { type Progress, progressBar } from './progress.ts';
import type { RunOptions } from './training-flags.ts';

/** The default run directory for a dataset spec: `runs/<prefix><spec as a safe name>`. */
export function defaultRunDir(spec: string, prefix = ''): string {
  return `runs/${prefix}${spec.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '')}`;
}

/**
 * Refuses to train into a directory that holds a run unless resuming or forced. It deletes nothing: with --force,
 * train() replaces the old run only once every flag, the data and the checkpoint have been checked.
 */
export function checkRunDir(outDir: string, opts: { readonly resuming: boolean; readonly force?: boolean }): void {
  if (opts.resuming || opts.force) return;
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new UserError(`${outDir} already holds a run: pass --resume ${outDir} to continue it, --out DIR for a new one, or --force to replace it`);
  }
}

/**
 * `--resume` of a run that has already trained its whole recipe: prints its result (as a finished run prints it)
 * instead of loading its data; returns whether it did.
 */
export function reportIfFinished(outDir: string, ckpt: TrainCheckpoint, json: boolean): boolean {
  if (!isFinished(ckpt.recipe, ckpt.progress)) return false;
  const r = finishedResult(outDir, ckpt.progress);
  if (!json) console.error(`${outDir} is finished (${r.step} steps): nothing to resume`);
  printResult(r, ckpt.recipe, outDir, json);
  return true;
}

/** Human output: a progress bar per epoch with loss, accuracy, LR, images/s and ETA. */
function humanReporter(): (e: TrainEvent) => void {
  let bar: Progress | null = null;
  let perEpoch = 0;
  return (e) => {
    if (e.kind === 'start') {
      perEpoch = e.stepsPerEpoch;
      const frozen = e.trainable < e.parameters ? ` (${e.trainable.toLocaleString('en-US')} trainable)` : '';
      console.error(
        `training ${e.parameters.toLocaleString('en-US')} parameters${frozen}, ${e.totalSteps} steps (${e.stepsPerEpoch} per epoch)` +
          `${e.step ? `, resuming at step ${e.step}` : ''}`,
      );
    } else if (e.kind === 'uncached') console.error(e.reason);
    else if (e.kind === 'features') {
      // the frozen part's output, computed once per image before the first step (train/cached-features.ts)
      const head = e.start === 'features';
      const once = head
        ? "only the head trains: the frozen encoder's output is computed once per image, and steps run the head alone"
        : `blocks ${e.start.block}… train: the tokens entering block ${e.start.block} are computed once per image, and steps start there`;
      if (!bar && e.split === 'train') console.error(once);
      bar ??= progressBar(head ? `${e.split} features` : `${e.split} tokens`, e.total);
      bar.update(e.done);
      if (e.done === e.total) {
        bar.stop();
        bar = null;
      }
    } else if (e.kind === 'step') {
      bar ??= progressBar(`epoch ${e.epoch + 1}`, perEpoch, '{bar} {value}/{total} loss {loss} acc {acc} lr {lr} {ips} img/s eta {eta_formatted}');
      bar.update(((e.step - 1) % perEpoch) + 1, {
        loss: e.loss.toFixed(3),
        acc: e.acc.toFixed(3),
        lr: e.lr.toExponential(1),
        ips: e.imagesPerSec.toFixed(0),
      });
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
  const b = new Batches(subset(data.test, spread, 'samples'), {
    batchSize: n,
    shuffle: false,
    mean: model.preprocess.mean,
    std: model.preprocess.std,
  }).next();
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

/** A run's result: one JSON line, or its test accuracy and where its models are. */
function printResult(r: TrainResult, recipe: TrainRecipe, outDir: string, json: boolean): void {
  if (json) return printJson({ kind: 'result', ...r, outDir });
  const pct = (x: number) => (Number.isNaN(x) ? 'unknown (no evaluation in metrics.jsonl)' : `${(100 * x).toFixed(2)}%`);
  const ema = recipe.ema ? ' (EMA weights)' : '';
  const time = r.status === 'finished' ? '' : ` in ${r.seconds.toFixed(0)} s`;
  console.log(`test accuracy${ema} ${pct(r.testAcc)} (best ${pct(r.bestTestAcc)}) after ${r.step} steps${time}`);
  console.log(`checkpoint: ${r.checkpoint}\nbest model: ${r.best}  (try: vitkit eval --checkpoint ${r.best} --data ${recipe.data})`);
}

/** What the command decided (replace: --force), and how to run and report it. */
export interface CliRun extends Pick<TrainRun, 'recipe' | 'data' | 'outDir' | 'resume' | 'init' | 'replace' | 'saveAdapters'> {
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
  const { options, command, ...run } = c;
  const { json, deviceNote, ...loop } = options;
  if (!json && (deviceNote || loop.device !== 'cpu')) console.error(deviceNote ?? `training on ${loop.device}`);
  const r = await train({
    ...run,
    ...loop,
    signal: controller.signal,
    onEvent: json ? jsonReporter : humanReporter(),
  }).finally(() => process.off('SIGINT', onSigint));

  if (r.status === 'interrupted' && !json) {
    console.error(`stopped at step ${r.step}; checkpoint ${r.checkpoint}\nresume with: ${command} --resume ${c.outDir}`);
  } else printResult(r, c.recipe, c.outDir, json);
  if (r.status === 'done' && !json) await showPredictions(r.best, c.data);
  if (r.status === 'interrupted') process.exitCode = 130;
}
