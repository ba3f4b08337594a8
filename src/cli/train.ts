// vitkit train: train a ViT from scratch; with no flags, the main job (a small ViT on Fashion-MNIST).
import { readFileSync } from 'node:fs';
import { loadDataset } from '../data/load-dataset.ts';
import type { Channels } from '../data/raw-image.ts';
import type { Dataset } from '../data/image-set.ts';
import { UserError } from '../errors.ts';
import { type ResNetV2Config, type ViTConfig, checkConfig, defaultConfig, defaultHeads, preset } from '../model/config.ts';
import { loadTrainCheckpoint } from '../train/checkpoints.ts';
import { type TrainRecipe, fashionMnistRecipe } from '../train/recipe.ts';
import { numberList, parseCommand } from './args.ts';
import {
  type OptimizationFields, type RegularizationFields, int, optimizationFlags, optimizationFromFlags, regularizationFlags, regularizationFromFlags,
  regularizationHelp, runFlags, runHelp, runOptionsFromFlags,
} from './training-flags.ts';
import { checkRunDir, defaultRunDir, reportIfFinished, runTraining } from './training-run.ts';

const d = fashionMnistRecipe;
const help = `
Usage: vitkit train [--arch NAME] [--data SPEC] [options]
       vitkit train --resume RUN_DIR

Trains a ViT from scratch. With no flags: the main job, a ${d.config.embedDim}-wide, ${d.config.depth}-deep ViT (patch ${d.config.patchSize})
on Fashion-MNIST for ${d.steps} steps of ${d.batch} (4.2 epochs), then shows a few test predictions.

Model:
  --arch NAME            a preset (e.g. vit_tiny_patch16_224) adapted to the data's size, channels and classes
  --config FILE          a JSON ViTConfig (fields as in ViTConfig: embedDim, depth, numHeads, …)
  --img-size N --patch P --dim D --depth L --heads H --mlp M     override single fields
  --backbone SPEC        tokens from a ResNetV2 feature map (a hybrid): STEM[,BLOCKSxWIDTH…], e.g. 32,1x128 (a
                         32-channel stem, then one stage of one 128-wide bottleneck); 'none' for image patches
  --pool token|avg       classify from the class token (default) or the mean of the tokens (no class token); with
                         --depth 0 and a backbone, avg gives a pure ResNet (BiT: global average pooling, linear head)
Data:
  --data SPEC            fashion-mnist | mnist | an IDX, CIFAR-10 binary or ImageFolder directory (default fashion-mnist);
                         with --img-size, every format is loaded at that size (in-memory sets resized bicubic)
  --mean a,b,c --std a,b,c   normalisation (default 0.5 per channel)
Optimisation:
  --epochs N | --steps N (${d.steps})  --batch B (${d.batch})  --accum K (1)  --lr F (${d.lr})  --optimizer adamw|sgd (adamw)
  --momentum F (0.9)  --weight-decay F (${d.optimizer.weightDecay})  --warmup-steps N (${d.warmupSteps}) | --warmup-epochs F
  --schedule cosine|linear|constant (cosine)  --clip F (1; 0 = off)  --label-smoothing F (${d.labelSmoothing})  --seed N (0)
${regularizationHelp}
${runHelp('runs/<data>')}
`;

export const trainOptions = {
  arch: { type: 'string' }, config: { type: 'string' }, data: { type: 'string' },
  'img-size': { type: 'string' }, patch: { type: 'string' }, dim: { type: 'string' }, depth: { type: 'string' },
  heads: { type: 'string' }, mlp: { type: 'string' },
  backbone: { type: 'string' }, pool: { type: 'string' },
  mean: { type: 'string' }, std: { type: 'string' },
  ...optimizationFlags, ...regularizationFlags, ...runFlags,
} as const;
const options = trainOptions;

export type TrainValues = NonNullable<ReturnType<typeof parseCommand<typeof options>>>['values'];
type Values = TrainValues;

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
  if (v.depth) o.depth = int('depth', v.depth, 0, 0);
  if (v.heads) o.numHeads = int('heads', v.heads, 0);
  if (v.mlp) o.mlpDim = int('mlp', v.mlp, 0);
  if (v.backbone === 'none') delete o.backbone;
  else if (v.backbone) {
    o.backbone = backboneFromSpec(v.backbone);
    o.patchSize = v.patch ? o.patchSize : 1; // timm's r26/r50 hybrids: a 1×1 projection of each feature-map cell
  }
  if (v.pool === 'avg') Object.assign(o, { pool: 'avg', classToken: false });
  else if (v.pool === 'token') Object.assign(o, { pool: 'token', classToken: true });
  else if (v.pool) throw new UserError(`--pool ${v.pool}: expected token or avg`);
  return o;
}

/** `--backbone STEM[,BLOCKSxWIDTH…]`: the stem's channels, then each stage's bottleneck count and output width. */
export function backboneFromSpec(spec: string): ResNetV2Config {
  const bad = () => new UserError(`--backbone ${spec}: expected STEM[,BLOCKSxWIDTH…] such as 32,1x128 or 64,2x256,2x512 (or none)`);
  const [stem, ...stages] = spec.split(',');
  const count = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : NaN);
  const stemChs = count(stem);
  const parsed = stages.map((s) => s.split('x').map(count));
  if (!(stemChs > 0) || parsed.some((p) => p.length !== 2 || p.some((n) => !(n > 0)))) throw bad();
  return { stemChs, layers: parsed.map((p) => p[0]!), channels: parsed.map((p) => p[1]!) };
}

/** The recipe from checked flags and the loaded data's size, channels and classes. */
function recipe(
  v: Values,
  arch: Partial<ViTConfig>,
  flags: Flags,
  data: { size: number; channels: number; classes: number; n: number },
): TrainRecipe {
  const config = checkConfig({ ...defaultConfig, ...arch, imgSize: data.size, inChans: data.channels, numClasses: data.classes });
  return {
    config,
    data: v.data ?? d.data,
    init: { kind: 'scratch' },
    ...flags.optimization((batch) => Math.floor(data.n / batch)),
    freeze: 'none',
    ...flags.reg,
    mean: flags.mean ?? Array(data.channels).fill(0.5),
    std: flags.std ?? Array(data.channels).fill(0.5),
  };
}

/** Every flag checked before anything is loaded or written; what depends on the data is finished later. */
interface Flags {
  readonly reg: RegularizationFields;
  readonly optimization: (stepsPerEpoch: (batch: number) => number) => OptimizationFields;
  readonly mean?: number[];
  readonly std?: number[];
}

function checkedFlags(v: Values): Flags {
  const optimization = (stepsPerEpoch: (batch: number) => number) => optimizationFromFlags(v, { ...d, accum: () => 1 }, stepsPerEpoch);
  optimization(() => 0); // throws on a bad --lr, --optimizer, --schedule, --batch…; --warmup-epochs needs the data
  return { reg: regularizationFromFlags(v), optimization, mean: numberList('mean', v.mean), std: numberList('std', v.std) };
}

/** The recipe and data a new `vitkit train` run would use with these flags (export-run's view of train). */
export async function planTrain(v: Values): Promise<{ recipe: TrainRecipe; data: Dataset }> {
  const flags = checkedFlags(v);
  const arch = architecture(v);
  const data = await loadDataset(v.data ?? d.data, { imageSize: v['img-size'] ? int('img-size', v['img-size'], 0) : undefined });
  const { train } = data;
  return { recipe: recipe(v, arch, flags, { size: train.height, channels: train.channels, classes: train.classes.length, n: train.n }), data };
}

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('train', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (args.positionals.length) throw new UserError(`train: unexpected argument '${args.positionals[0]}' (see vitkit train --help)`);
  const resumed = v.resume ? loadTrainCheckpoint(v.resume) : undefined;
  if (v.resume && resumed && reportIfFinished(v.resume, resumed, !!v.json)) return;
  const spec = resumed?.recipe.data ?? v.data ?? d.data;
  const outDir = v.resume ?? v.out ?? defaultRunDir(spec);
  // Flags are checked before anything is (slowly) loaded; --force replaces the old run only once all is checked.
  const flags = checkedFlags(v);
  const arch = architecture(v);
  const runOptions = await runOptionsFromFlags(v);
  checkRunDir(outDir, { resuming: !!resumed, force: v.force });
  if (!v.json) console.error(`loading ${spec} …`);
  const size = resumed
    ? { imageSize: resumed.recipe.config.imgSize, channels: resumed.recipe.config.inChans as Channels }
    : { imageSize: v['img-size'] ? int('img-size', v['img-size'], 0) : undefined };
  const data = await loadDataset(spec, size);
  const { train } = data;
  await runTraining({
    recipe: resumed?.recipe ?? recipe(v, arch, flags, { size: train.height, channels: train.channels, classes: train.classes.length, n: train.n }),
    data,
    outDir,
    resume: resumed && { state: resumed.state, progress: resumed.progress },
    replace: v.force,
    options: runOptions,
    command: 'vitkit train',
  });
}
