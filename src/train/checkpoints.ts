// Training checkpoints: the model (loadable by every command, as a vitkit checkpoint) plus the optimizer state,
// the recipe and the position in the data, so that a run resumed from one continues exactly. Written atomically
// (temp file, fsync, rename); the newest `keep` are kept, and the best model by test accuracy separately.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchPosition } from '../data/batches.ts';
import { UserError } from '../errors.ts';
import type { StateDict } from '../graph/tensor.ts';
import { isLoraParam, loraLayers, mergeLora } from '../model/lora.ts';
import { type AdapterSave, saveAdapters } from '../weights/adapters.ts';
import { loadCheckpoint, saveCheckpoint } from '../weights/checkpoint.ts';
import type { Preprocess } from '../weights/checkpoint.ts';
import { type TrainRecipe, recipeSelection } from './recipe.ts';

/** Where training stands after a step: enough, with the recipe, to resume exactly. */
export interface TrainProgress {
  /** Optimizer steps done. */
  readonly step: number;
  /** The next batch to train on. */
  readonly position: BatchPosition;
  readonly bestTestAcc: number;
  /** Running sums of the current epoch's training loss, correct count and images. */
  readonly epochSums: { readonly loss: number; readonly correct: number; readonly images: number; readonly steps: number };
}

export interface TrainCheckpoint {
  readonly recipe: TrainRecipe;
  readonly labels: readonly string[];
  readonly progress: TrainProgress;
  /** Parameters and optimizer state as TrainSession.state() gives them. */
  readonly state: StateDict;
}

const TRAIN_KEY = 'vitkit.train';
const CHECKPOINTS = 'checkpoints';

export function checkpointPath(outDir: string, step: number): string {
  return join(outDir, CHECKPOINTS, `step-${String(step).padStart(7, '0')}.safetensors`);
}

export function bestPath(outDir: string): string {
  return join(outDir, 'best.safetensors');
}

/** How a run's models expect their input: the recipe's normalisation at its size, the whole image (no crop). */
export function preprocessOf(recipe: TrainRecipe): Preprocess {
  return { mean: recipe.mean, std: recipe.std, imgSize: recipe.config.imgSize, cropPct: 1, resize: 'shorter-crop' };
}

/** Training-state key of a LoRA-adapted layer's weight before merging. */
const UNMERGED = 'lora.unmerged.';

/**
 * Splits TrainSession.state() into model weights and the rest (optimizer moments, step counter). With LoRA the model
 * part is the merged model, so that every command loads a checkpoint as what was trained; the adapters and the
 * unmerged weights of the layers they adapt go with the training state, so that a resume continues exactly.
 */
function split(recipe: TrainRecipe, state: StateDict, names: ReadonlySet<string>): { weights: StateDict; trainingState: StateDict } {
  const weights: StateDict = new Map();
  const trainingState: StateDict = new Map();
  for (const [k, t] of state) (names.has(k) && !isLoraParam(k) ? weights : trainingState).set(k, t);
  if (weights.size !== [...names].filter((n) => !isLoraParam(n)).length) throw new Error(`training state of ${recipe.data} lacks model parameters`);
  const lora = recipeSelection(recipe).lora;
  if (!lora) return { weights, trainingState };
  for (const layer of loraLayers(recipe.config, lora)) trainingState.set(UNMERGED + `${layer}.weight`, weights.get(`${layer}.weight`)!);
  const adapters = [...state].filter(([k]) => isLoraParam(k));
  return { weights: mergeLora(recipe.config, new Map([...weights, ...adapters]), lora), trainingState };
}

/** Writes `checkpoints/step-N.safetensors` and deletes all but the newest `keep`; returns its path. */
export function saveTrainCheckpoint(outDir: string, ckpt: TrainCheckpoint, paramNames: ReadonlySet<string>, keep: number): string {
  const path = checkpointPath(outDir, ckpt.progress.step);
  const { weights, trainingState } = split(ckpt.recipe, ckpt.state, paramNames);
  const metadata = { [TRAIN_KEY]: JSON.stringify({ recipe: ckpt.recipe, progress: ckpt.progress }) };
  writeOrExplain(path, () =>
    saveCheckpoint(
      path,
      { config: ckpt.recipe.config, weights, trainingState, labels: ckpt.labels, preprocess: preprocessOf(ckpt.recipe), metadata },
      'vitkit',
      { force: true },
    ),
  );
  for (const old of listCheckpoints(outDir).slice(0, -keep)) rmSync(old, { force: true });
  return path;
}

/**
 * Writes the model alone (no optimizer state) as `best.safetensors`, LoRA adapters merged; with `adapters`, only what
 * the run changed and the base's identity (weights/adapters.ts).
 */
export function saveBest(
  outDir: string,
  recipe: TrainRecipe,
  labels: readonly string[],
  weights: StateDict,
  adapters?: Omit<AdapterSave, 'lora'>,
): string {
  const path = bestPath(outDir);
  const { lora } = recipeSelection(recipe);
  const content = { config: recipe.config, weights, labels, preprocess: preprocessOf(recipe) };
  if (adapters) writeOrExplain(path, () => saveAdapters(path, content, { ...adapters, lora }, { force: true }));
  else {
    writeOrExplain(path, () =>
      saveCheckpoint(path, { ...content, weights: lora ? mergeLora(recipe.config, weights, lora) : weights }, 'vitkit', { force: true }),
    );
  }
  return path;
}

/** A failed write (e.g. a full disk) leaves the previous checkpoints intact; say so and what to do. */
function writeOrExplain(path: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof UserError) throw err;
    const why = err.code === 'ENOSPC' ? 'the disk is full' : err.message;
    throw new UserError(
      `could not write checkpoint ${path} (${why}): earlier checkpoints are intact; free space or choose another --out, then resume`,
    );
  }
}

/** Removes a previous run's files from `outDir` (metrics.jsonl, checkpoints/, best.safetensors), nothing else. */
export function clearRun(outDir: string): void {
  for (const f of ['metrics.jsonl', CHECKPOINTS, 'best.safetensors']) rmSync(join(outDir, f), { recursive: true, force: true });
}

/** Checkpoint files of a run, oldest first. */
export function listCheckpoints(outDir: string): string[] {
  const dir = join(outDir, CHECKPOINTS);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^step-\d+\.safetensors$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Loads a run directory's newest checkpoint (or a given checkpoint file) for resuming. */
export function loadTrainCheckpoint(pathOrRunDir: string): TrainCheckpoint & { readonly path: string } {
  const isDir = existsSync(pathOrRunDir) && statSync(pathOrRunDir).isDirectory();
  const path = isDir ? listCheckpoints(pathOrRunDir).pop() : pathOrRunDir;
  if (!path) throw new UserError(`${pathOrRunDir} holds no checkpoints/step-*.safetensors to resume from: check the run directory`);
  const c = loadCheckpoint(path);
  const train = c.metadata?.[TRAIN_KEY];
  if (c.format !== 'vitkit' || !train) {
    throw new UserError(`${path} is not a vitkit training checkpoint (no training state): fine-tune from it instead of resuming`);
  }
  const { recipe, progress } = JSON.parse(train) as { recipe: TrainRecipe; progress: TrainProgress };
  const state: StateDict = new Map([...c.weights, ...(c.trainingState ?? [])]);
  for (const [k, t] of state) {
    if (!k.startsWith(UNMERGED)) continue;
    state.set(k.slice(UNMERGED.length), t);
    state.delete(k);
  }
  return { path, recipe, progress, labels: c.labels ?? [], state };
}
