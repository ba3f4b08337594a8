// vitkit's own checkpoint: a .safetensors file whose metadata holds the config, labels and preprocessing as JSON
// (key `vitkit`), with training state (optimizer moments, step) under `training/` names beside the model. The
// byte-level half of checkpoint.ts, with no `node:` imports: the browser reads and writes the same files.
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { UserError } from '../errors.ts';
import type { CheckpointContent, Preprocess } from './checkpoint-types.ts';
import { encodeSafetensors, decodeSafetensors } from './safetensors-codec.ts';
import { checkWeights, inferConfig } from './infer-config.ts';
import { type PreprocessOptions, resolvePreprocessOptions } from '../data/preprocess.ts';

/** The metadata key under which vitkit's own checkpoints store config, labels and preprocessing (as JSON). */
const VITKIT_KEY = 'vitkit';
/** Name prefix of the training state (optimizer moments, step) a vitkit training checkpoint stores beside the model. */
const TRAINING_PREFIX = 'training/';

export interface VitkitMeta {
  readonly config: ViTConfig;
  readonly labels?: string[];
  readonly preprocess?: Preprocess;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteList = (v: unknown): boolean => Array.isArray(v) && v.every(Number.isFinite);

/** vitkit's own metadata, checked field by field: a file from elsewhere may carry anything under the key. */
function vitkitMeta(src: { name: string }, json: string): VitkitMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(json);
  } catch {
    throw new UserError(`${src.name} has unreadable vitkit metadata (not JSON): re-export it with vitkit convert`);
  }
  const bad = (what: string) => new UserError(`${src.name} has invalid vitkit metadata (${what}): re-export it with vitkit convert`);
  if (!isObject(meta) || !isObject(meta.config)) throw bad('no config object');
  const { labels, preprocess: p } = meta;
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string'))) throw bad('labels are not a list of strings');
  if (p !== undefined && !(isObject(p) && isFiniteList(p.mean) && isFiniteList(p.std) && (p.std as number[]).every((x) => x > 0))) {
    throw bad('preprocess needs finite mean and positive std lists');
  }
  const filter = isObject(p) ? p.interpolation : undefined;
  if (filter !== undefined && filter !== 'bicubic' && filter !== 'bilinear') throw bad('interpolation is not bicubic|bilinear');
  return meta as unknown as VitkitMeta;
}

/**
 * A parsed safetensors file as a vitkit checkpoint: its metadata, the model weights, the training state and the
 * other metadata; null when the file is not vitkit's (no `vitkit` key).
 */
export function splitVitkit(
  src: { name: string },
  tensors: StateDict,
  metadata: Record<string, string>,
): { meta: VitkitMeta; weights: StateDict; trainingState: StateDict; metadata: Record<string, string> } | null {
  const { [VITKIT_KEY]: vitkit, ...rest } = metadata;
  if (vitkit === undefined) return null;
  const meta = vitkitMeta(src, vitkit);
  const weights: StateDict = new Map();
  const trainingState: StateDict = new Map();
  for (const [k, t] of tensors) {
    if (k.startsWith(TRAINING_PREFIX)) trainingState.set(k.slice(TRAINING_PREFIX.length), t);
    else weights.set(k, t);
  }
  return { meta, weights, trainingState, metadata: rest };
}

/** A checkpoint's content as vitkit .safetensors chunks (weights as given: float32, or int8 with scales). */
export function encodeVitkit(c: CheckpointContent): Uint8Array[] {
  const meta: VitkitMeta = {
    config: c.config,
    ...(c.labels ? { labels: [...c.labels] } : {}),
    ...(c.preprocess ? { preprocess: c.preprocess } : {}),
  };
  const tensors = new Map(c.weights);
  for (const [k, t] of c.trainingState ?? []) tensors.set(TRAINING_PREFIX + k, t);
  return encodeSafetensors(tensors, { ...c.metadata, [VITKIT_KEY]: JSON.stringify(meta) });
}

/**
 * Reads vitkit .safetensors bytes (a download, a file the user picked) with the checks loadCheckpoint makes: the
 * config completed from the tensors' shapes, every weight present with its expected shape. `name` is used in errors.
 */
export function decodeVitkit(bytes: Uint8Array, name: string): CheckpointContent {
  const { tensors, metadata } = decodeSafetensors(bytes, name);
  const v = splitVitkit({ name }, tensors, metadata);
  if (!v) {
    throw new UserError(`${name} is not a vitkit checkpoint (no vitkit metadata): save it with vitkit (train, finetune or convert --to vitkit)`);
  }
  const config = inferConfig(v.weights, name, v.meta.config);
  checkWeights(config, v.weights, name);
  return {
    config,
    weights: v.weights,
    ...(v.meta.labels ? { labels: v.meta.labels } : {}),
    ...(v.meta.preprocess ? { preprocess: v.meta.preprocess } : {}),
  };
}

/** The preprocessing a model runs with, as a checkpoint records it (what loadModel turns back into the same options). */
export function savedPreprocess(opts: PreprocessOptions): Preprocess {
  const o = resolvePreprocessOptions(opts);
  return { mean: o.mean, std: o.std, cropPct: o.cropPct, resize: o.resize, interpolation: o.interpolation };
}
