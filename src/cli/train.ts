// vitkit train: train a ViT from scratch; with no flags, the main job (a small ViT on Fashion-MNIST).
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimizerConfig } from '../autodiff/optim.ts';
import { Batches } from '../data/batches.ts';
import { subset } from '../data/image-set.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { UserError } from '../errors.ts';
import { Classifier, loadModel, topK } from '../inference/classifier.ts';
import { type ViTConfig, checkConfig, defaultConfig, defaultHeads, preset } from '../model/config.ts';
import { loadTrainCheckpoint } from '../train/checkpoints.ts';
import { type TrainRecipe, fashionMnistRecipe } from '../train/recipe.ts';
import { SCHEDULES, type ScheduleKind } from '../train/schedule.ts';
import { type TrainEvent, train } from '../train/trainer.ts';
import { numberFlag, numberList, parseCommand, threadsFlag } from './args.ts';
import { type Progress, progressBar } from './progress.ts';

const d = fashionMnistRecipe;
const help = `
Usage: vitkit train [--arch NAME] [--data SPEC] [options]
       vitkit train --resume RUN_DIR

Trains a ViT from scratch. With no flags: the main job, a ${d.config.embedDim}-wide, ${d.config.depth}-deep ViT (patch ${d.config.patchSize})
on Fashion-MNIST for ${d.epochs} epochs, then shows a few test predictions.

Model:
  --arch NAME            a preset (e.g. vit_tiny_patch16_224) adapted to the data's size, channels and classes
  --config FILE          a JSON ViTConfig (fields as in ViTConfig: embedDim, depth, numHeads, …)
  --img-size N --patch P --dim D --depth L --heads H --mlp M     override single fields
Data:
  --data SPEC            fashion-mnist | mnist | an IDX, CIFAR-10 binary or ImageFolder directory (default fashion-mnist)
  --flip --pad-crop N    augmentation: horizontal flip; random crop after N pixels of zero padding
Optimisation:
  --epochs N (${d.epochs})  --batch B (${d.batch})  --accum K (1)  --lr F (${d.lr})  --optimizer adamw|sgd (adamw)
  --momentum F (0.9)  --weight-decay F (${d.optimizer.weightDecay})  --warmup-steps N (${d.warmupSteps}) | --warmup-epochs F
  --schedule cosine|linear|constant (cosine)  --clip F (1; 0 = off)  --label-smoothing F (${d.labelSmoothing})  --seed N (0)
Output:
  --out DIR              run directory (default runs/<data>); metrics.jsonl, checkpoints/, best.safetensors
  --resume DIR           continue a run exactly where its last checkpoint stopped (other flags are ignored)
  --force                train into an existing run directory (its checkpoints are replaced)
  --threads N            onnxruntime threads (default: all cores)
  --json                 print one JSON line per epoch and a final summary instead of progress bars

Ctrl-C saves a checkpoint and exits; resume with --resume.
`;

const options = {
  arch: { type: 'string' }, config: { type: 'string' }, data: { type: 'string' },
  'img-size': { type: 'string' }, patch: { type: 'string' }, dim: { type: 'string' }, depth: { type: 'string' }, heads: { type: 'string' }, mlp: { type: 'string' },
  flip: { type: 'boolean' }, 'pad-crop': { type: 'string' },
  epochs: { type: 'string' }, batch: { type: 'string' }, accum: { type: 'string' }, lr: { type: 'string' }, optimizer: { type: 'string' },
  momentum: { type: 'string' }, 'weight-decay': { type: 'string' }, 'warmup-steps': { type: 'string' }, 'warmup-epochs': { type: 'string' },
  schedule: { type: 'string' }, clip: { type: 'string' }, 'label-smoothing': { type: 'string' }, seed: { type: 'string' },
  mean: { type: 'string' }, std: { type: 'string' },
  out: { type: 'string' }, resume: { type: 'string' }, force: { type: 'boolean' }, threads: { type: 'string' }, json: { type: 'boolean' },
} as const;

type Values = NonNullable<ReturnType<typeof parseCommand<typeof options>>>['values'];

const int = (name: string, v: string | undefined, fallback: number, min = 1) => numberFlag(name, v, fallback, { integer: true, min });
const num = (name: string, v: string | undefined, fallback: number) => numberFlag(name, v, fallback, { min: 0 });

/** The architecture: default recipe's, a preset, or a JSON file, with single-field flags on top; sized to the data later. */
function architecture(v: Values): Partial<ViTConfig> {
  let base: Partial<ViTConfig> = d.config;
  if (v.arch) base = preset(v.arch);
  if (v.config) {
    try {
      base = { ...defaultConfig, ...(JSON.parse(readFileSync(v.config, 'utf8')) as Partial<ViTConfig>) };
    } catch (e) {
      throw new UserError(`--config ${v.config}: ${(e as Error).message}: pass a JSON file of ViTConfig fields`);
    }
  }
  const o: { -readonly [K in keyof ViTConfig]?: ViTConfig[K] } = { ...base };
  if (v['img-size']) o.imgSize = int('img-size', v['img-size'], 0);
  if (v.patch) o.patchSize = int('patch', v.patch, 0);
  if (v.dim) {
    o.embedDim = int('dim', v.dim, 0);
    o.numHeads = v.heads ? o.numHeads : defaultHeads(o.embedDim);
    o.mlpDim = v.mlp ? o.mlpDim : 4 * o.embedDim;
  }
  if (v.depth) o.depth = int('depth', v.depth, 0);
  if (v.heads) o.numHeads = int('heads', v.heads, 0);
  if (v.mlp) o.mlpDim = int('mlp', v.mlp, 0);
  return o;
}

function recipeFromFlags(v: Values, stepsPerEpoch: (batch: number) => number, data: { size: number; channels: number; classes: number }): TrainRecipe {
  const arch = architecture(v);
  const config = checkConfig({ ...defaultConfig, ...arch, imgSize: arch.imgSize && v['img-size'] ? arch.imgSize : data.size, inChans: data.channels, numClasses: data.classes });
  const kind = v.optimizer ?? 'adamw';
  if (kind !== 'adamw' && kind !== 'sgd') throw new UserError(`unknown optimizer '${kind}' (expected adamw|sgd)`);
  const schedule = (v.schedule ?? 'cosine') as ScheduleKind;
  if (!SCHEDULES.includes(schedule)) throw new UserError(`unknown schedule '${schedule}' (expected ${SCHEDULES.join('|')})`);
  const weightDecay = num('weight-decay', v['weight-decay'], kind === 'adamw' ? d.optimizer.weightDecay ?? 0 : 0);
  const optimizer: OptimizerConfig = kind === 'adamw' ? { kind, weightDecay } : { kind, weightDecay, momentum: num('momentum', v.momentum, 0.9) };
  const batch = int('batch', v.batch, d.batch);
  const warmupSteps = v['warmup-epochs'] ? Math.round(num('warmup-epochs', v['warmup-epochs'], 0) * stepsPerEpoch(batch)) : int('warmup-steps', v['warmup-steps'], d.warmupSteps, 0);
  const mean = numberList('mean', v.mean) ?? Array(data.channels).fill(0.5);
  return {
    config,
    data: v.data ?? d.data,
    epochs: int('epochs', v.epochs, d.epochs),
    batch,
    gradAccum: int('accum', v.accum, 1),
    optimizer,
    lr: num('lr', v.lr, d.lr),
    schedule,
    warmupSteps,
    clipNorm: num('clip', v.clip, d.clipNorm),
    labelSmoothing: num('label-smoothing', v['label-smoothing'], d.labelSmoothing),
    seed: int('seed', v.seed, 0, 0),
    augment: { flip: v.flip ?? false, padCrop: int('pad-crop', v['pad-crop'], 0, 0) },
    mean,
    std: numberList('std', v.std) ?? Array(data.channels).fill(0.5),
  };
}

/** Human output: a progress bar per epoch with loss, accuracy, LR, images/s and ETA. */
function humanReporter(): (e: TrainEvent) => void {
  let bar: Progress | null = null;
  let perEpoch = 0;
  return (e) => {
    if (e.kind === 'start') {
      perEpoch = e.stepsPerEpoch;
      console.error(`training ${e.parameters.toLocaleString('en-US')} parameters, ${e.totalSteps} steps (${e.stepsPerEpoch} per epoch)${e.step ? `, resuming at step ${e.step}` : ''}`);
    } else if (e.kind === 'step') {
      bar ??= progressBar(`epoch ${e.epoch + 1}`, perEpoch, '{bar} {value}/{total} loss {loss} acc {acc} lr {lr} {ips} img/s eta {eta_formatted}');
      bar.update(((e.step - 1) % perEpoch) + 1, { loss: e.loss.toFixed(3), acc: e.acc.toFixed(3), lr: e.lr.toExponential(1), ips: e.imagesPerSec.toFixed(0) });
    } else if (e.kind === 'evaluating') {
      bar?.stop();
      bar = null;
    } else if (e.kind === 'epoch') {
      console.error(`epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)} acc ${(100 * e.trainAcc).toFixed(2)}%, test loss ${e.testLoss.toFixed(4)} acc ${(100 * e.testAcc).toFixed(2)}%`);
    }
  };
}

/** A few test images with their predicted and true classes, from the saved best model. */
async function showPredictions(best: string, data: Awaited<ReturnType<typeof loadDataset>>): Promise<void> {
  const model = loadModel(best);
  const classifier = await Classifier.create(model, { outputs: ['logits'] });
  const spread = Array.from({ length: 8 }, (_, i) => Math.floor((i * data.test.n) / 8)); // across classes
  const b = new Batches(subset(data.test, spread, 'samples'), { batchSize: 8, shuffle: false, mean: model.preprocess.mean, std: model.preprocess.std }).next();
  const { logits } = await classifier.run(b.x);
  const k = model.config.numClasses;
  console.log('sample test predictions:');
  for (let i = 0; i < 8; i++) {
    const [top] = topK((logits!.data as Float32Array).subarray(i * k, (i + 1) * k), 1, model.labels);
    const truth = data.test.classes[Number(b.y.data[i])]!;
    console.log(`  ${top!.label === truth ? '✓' : '✗'} predicted ${top!.label.padEnd(12)} (${(100 * top!.prob).toFixed(1)}%)  true ${truth}`);
  }
  await classifier.release();
}

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('train', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (args.positionals.length) throw new UserError(`train: unexpected argument '${args.positionals[0]}' (see vitkit train --help)`);
  const resumed = v.resume ? loadTrainCheckpoint(v.resume) : undefined;
  const spec = resumed?.recipe.data ?? v.data ?? d.data;
  const outDir = v.resume ?? v.out ?? `runs/${spec.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '')}`;
  if (!resumed && !v.force && existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new UserError(`${outDir} already holds a run: pass --resume ${outDir} to continue it, --out DIR for a new one, or --force to replace it`);
  }
  if (!resumed && v.force) for (const f of ['metrics.jsonl', 'checkpoints', 'best.safetensors']) rmSync(join(outDir, f), { recursive: true, force: true });
  if (!v.json) console.error(`loading ${spec} …`);
  const data = await loadDataset(spec, { imageSize: v['img-size'] ? int('img-size', v['img-size'], 0) : undefined });
  const recipe =
    resumed?.recipe ??
    recipeFromFlags(v, (batch) => Math.floor(data.train.n / batch), { size: data.train.height, channels: data.train.channels, classes: data.train.classes.length });

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: stop now
    console.error('\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const jsonReporter = (e: TrainEvent) => e.kind === 'epoch' && console.log(JSON.stringify(e));
  const r = await train({
    recipe,
    data,
    outDir,
    resume: resumed && { state: resumed.state, progress: resumed.progress },
    threads: threadsFlag(v.threads),
    signal: controller.signal,
    onEvent: v.json ? jsonReporter : humanReporter(),
  }).finally(() => process.off('SIGINT', onSigint));

  if (v.json) console.log(JSON.stringify({ kind: 'result', ...r, outDir }));
  else if (r.status === 'interrupted') console.error(`stopped at step ${r.step}; checkpoint ${r.checkpoint}\nresume with: vitkit train --resume ${outDir}`);
  else {
    console.log(`test accuracy ${(100 * r.testAcc).toFixed(2)}% (best ${(100 * r.bestTestAcc).toFixed(2)}%) after ${r.step} steps in ${r.seconds.toFixed(0)} s`);
    console.log(`checkpoint: ${r.checkpoint}\nbest model: ${r.best}  (try: vitkit eval --checkpoint ${r.best} --data ${spec})`);
    await showPredictions(r.best, data);
  }
  if (r.status === 'interrupted') process.exitCode = 130;
}
