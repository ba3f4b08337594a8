// vitkit finetune: fine-tune a pretrained ViT (timm, Hugging Face, Google .npz or vitkit checkpoint) on a labelled
// dataset with the paper's protocol: new zero-initialised head, position embeddings resampled for a new resolution,
// SGD momentum 0.9 without weight decay, clipping at norm 1, cosine decay after warm-up, batch by accumulation.
import { loadDataset } from '../data/load-dataset.ts';
import type { Channels } from '../data/raw-image.ts';
import { UserError } from '../errors.ts';
import { loadTrainCheckpoint } from '../train/checkpoints.ts';
import { adaptPretrained, defaultAccumulation, describeAdaptation, finetuneDefaults as f, MAX_MICRO_BATCH } from '../train/finetune.ts';
import type { TrainRecipe } from '../train/recipe.ts';
import { loadCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, numberList, parseCommand } from './args.ts';
import { baseIdentity, weightsHash } from '../weights/adapters.ts';
import {
  int, optimizationFlags, optimizationFromFlags, regularizationFlags, regularizationFromFlags, regularizationHelp, runFlags,
  runHelp, runOptionsFromFlags, selectionFlags, selectionFromFlags, selectionHelp,
} from './training-flags.ts';
import { checkRunDir, defaultRunDir, reportIfFinished, runTraining } from './training-run.ts';
import { localCheckpoint } from './hub-checkpoint.ts';

const help = `
Usage: vitkit finetune --checkpoint PRETRAINED --data SPEC [options]
       vitkit finetune --resume RUN_DIR

Fine-tunes a pretrained ViT as the paper does: the pre-training head (and pre-logits layer) is replaced by a
zero-initialised linear head for the dataset's classes; at another --img-size the patch size is kept and the
position embeddings are resampled in 2D. Normalisation follows the checkpoint.

Model and data:
  --checkpoint PATH      timm .safetensors/.pth, Hugging Face or timm directory, Google .npz, vitkit checkpoint, or a
                         Hub id (org/name), downloaded on first use (--revision R: its branch, tag or commit)
  --heads N --ln-eps E --pool token|avg --mlp quick_gelu   what a bare timm/PyTorch state dict does not say
  --data SPEC            fashion-mnist | mnist | an IDX, CIFAR-10 binary or ImageFolder directory
  --img-size N           fine-tune at this resolution (default: the checkpoint's); every dataset is loaded at it
  --pos-resample R       timm|transformers: resample the position embeddings as that library does (default:
                         transformers for Hugging Face checkpoints, else timm)
  --mean a,b,c --std a,b,c   normalisation (default: the checkpoint's, else ImageNet's)
${selectionHelp}
  --save-adapters        write best.safetensors as what the run changed only (adapters, head, …) with the base's
                         identity; every command loads it with its base, and refuses another base
Optimisation (defaults: the paper's protocol):
  --steps N (${f.steps}) | --epochs N  --batch B (${f.batch})  --accum K (micro-batches of at most ${MAX_MICRO_BATCH})  --lr F (${f.lr})
  --optimizer sgd|adamw (sgd)  --momentum F (0.9)  --weight-decay F (0)  --warmup-steps N (${f.warmupSteps}) | --warmup-epochs F
  --schedule cosine|linear|constant (cosine)  --clip F (${f.clipNorm})  --label-smoothing F (0)  --seed N (0)
${regularizationHelp}
${runHelp('runs/finetune-<data>')}
`;

export const finetuneOptions = {
  checkpoint: { type: 'string' }, revision: { type: 'string' }, data: { type: 'string' }, 'img-size': { type: 'string' },
  heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' }, mlp: { type: 'string' },
  'pos-resample': { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, 'save-adapters': { type: 'boolean' },
  ...selectionFlags, ...optimizationFlags, ...regularizationFlags, ...runFlags,
} as const;
const options = finetuneOptions;
export type FinetuneValues = NonNullable<ReturnType<typeof parseCommand<typeof options>>>['values'];

/**
 * The recipe, data and adapted initial weights a new `vitkit finetune` run would use with these flags, every flag
 * checked before the (possibly slow) loading (export-run's view of finetune too).
 */
export async function planFinetune(v: FinetuneValues, say: (line: string) => void) {
  if (!v.checkpoint) {
    throw new UserError('finetune: pass --checkpoint PRETRAINED (a timm, Hugging Face, .npz or vitkit checkpoint), or --resume RUN_DIR');
  }
  if (!v.data) throw new UserError('finetune: pass --data SPEC (fashion-mnist, mnist, or an IDX, CIFAR-10 or ImageFolder directory)');
  const reg = regularizationFromFlags(v);
  const train = selectionFromFlags(v);
  if (v['save-adapters'] && train.all) {
    throw new UserError('--save-adapters keeps what a cheap fine-tune changed: pick --train head|bias|last:K|lora:R');
  }
  const defaults = { ...f, epochs: 1, accum: defaultAccumulation };
  const optimization = (stepsPerEpoch: (batch: number) => number) => optimizationFromFlags(v, defaults, stepsPerEpoch);
  optimization(() => 0); // --warmup-epochs is converted once the data is loaded
  const [mean, std] = [numberList('mean', v.mean), numberList('std', v.std)];
  const ckpt = loadCheckpoint(await localCheckpoint(v.checkpoint, v.revision), configOverrides(v));
  const imgSize = v['img-size'] ? int('img-size', v['img-size'], 0) : ckpt.config.imgSize;
  say(`loading ${v.data} at ${imgSize}×${imgSize}, ${ckpt.config.inChans} channel(s) …`);
  const data = await loadDataset(v.data, { imageSize: imgSize, channels: ckpt.config.inChans as Channels });
  const model = adaptPretrained(ckpt, { numClasses: data.train.classes.length, imgSize });
  for (const line of describeAdaptation(model.adapted, model.config)) say(`${v.checkpoint}: ${line}`);
  const recipe: TrainRecipe = {
    config: model.config,
    data: v.data,
    init: { kind: 'pretrained', checkpoint: v.checkpoint, format: model.format, adapted: model.adapted },
    ...optimization((batch) => Math.floor(data.train.n / batch)),
    train,
    ...reg,
    mean: mean ?? model.mean,
    std: std ?? model.std,
  };
  return { recipe, data, init: model.weights, ckpt };
}

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('finetune', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (args.positionals.length) throw new UserError(`finetune: unexpected argument '${args.positionals[0]}' (see vitkit finetune --help)`);
  const say = (line: string) => v.json || console.error(line);
  const runOptions = await runOptionsFromFlags(v);

  if (v.resume) {
    const resumed = loadTrainCheckpoint(v.resume);
    if (reportIfFinished(v.resume, resumed, runOptions.json)) return;
    const { config } = resumed.recipe;
    say(`loading ${resumed.recipe.data} …`);
    const data = await loadDataset(resumed.recipe.data, { imageSize: config.imgSize, channels: config.inChans as Channels });
    const resume = { state: resumed.state, progress: resumed.progress };
    const base = resumed.recipe.saveAdapters;
    const baseWeights = base && loadCheckpoint(base.source, {}, { revision: base.revision }).weights;
    if (base && weightsHash(baseWeights!) !== base.sha256) {
      throw new UserError(`${base.source} no longer holds the weights this run fine-tunes: restore them to resume`);
    }
    const saveAdapters = base && { base, baseWeights: baseWeights! };
    await runTraining({ recipe: resumed.recipe, data, outDir: v.resume, resume, options: runOptions, command: 'vitkit finetune', saveAdapters });
    return;
  }

  const outDir = v.out ?? defaultRunDir(v.data ?? '', 'finetune-');
  if (v.checkpoint && v.data) checkRunDir(outDir, { resuming: false, force: v.force });
  const { recipe, data, init, ckpt } = await planFinetune(v, say);
  const saveAdapters = v['save-adapters'] ? { base: baseIdentity(v.checkpoint!, ckpt.weights, v.revision), baseWeights: ckpt.weights } : undefined;
  const recorded = { ...recipe, ...(saveAdapters ? { saveAdapters: saveAdapters.base } : {}) };
  await runTraining({ recipe: recorded, data, outDir, init, replace: v.force, options: runOptions, command: 'vitkit finetune', saveAdapters });
}
