// Adapter files (`--save-adapters`): what a cheap fine-tune changed, without the frozen weights it did not. The file
// is a .safetensors with the trained tensors (LoRA's A and B unmerged, the new head, biases or blocks that trained)
// and the tensors of the fine-tuned model that the base lacks or holds in another shape (a resampled pos_embed),
// plus, under `vitkit.adapters`, the fine-tuned config, labels, preprocessing, LoRA options and the base's identity:
// where it was (a path made absolute, or a Hub id and revision) and a SHA-256 of its tensors. Loading one (any
// command's --checkpoint) loads that base, refuses it unless the hash matches, and merges: the result is the plain
// fine-tuned model. The hash is over the loaded tensors (names, dtypes, shapes, bytes), so the same weights in
// another format or place are the same base, and any other weights are not.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { dequantizeWeights } from '../model/int8.ts';
import { type LoraOptions, isLoraParam, mergeLora, trainingShapes } from '../model/lora.ts';
import { UserError } from '../errors.ts';
import type { Checkpoint, CheckpointContent, Preprocess } from './checkpoint-types.ts';
import { type WriteOptions, assertWritable, writeFileAtomic } from './atomic-write.ts';
import { encodeSafetensors } from './safetensors-codec.ts';

/** The metadata key of an adapter file. */
export const ADAPTERS_KEY = 'vitkit.adapters';

/** Which base checkpoint adapters belong to. */
export interface BaseIdentity {
  /** An absolute path, or a Hub id (with `revision`). */
  readonly source: string;
  readonly revision?: string;
  /** SHA-256 of the base's tensors as loaded (see the file header). */
  readonly sha256: string;
}

interface AdaptersMeta {
  readonly base: BaseIdentity;
  readonly config: ViTConfig;
  readonly lora?: LoraOptions;
  readonly labels?: readonly string[];
  readonly preprocess?: Preprocess;
}

/** SHA-256 over every tensor's name, dtype, shape and bytes, in name order. */
export function weightsHash(weights: StateDict): string {
  const h = createHash('sha256');
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** The identity of a base loaded from `spec` (a path or a Hub id) at `revision`. */
export function baseIdentity(spec: string, weights: StateDict, revision?: string): BaseIdentity {
  const local = existsSync(spec);
  return { source: local ? resolve(spec) : spec, ...(local ? {} : { revision: revision ?? 'main' }), sha256: weightsHash(weights) };
}

export interface AdapterSave {
  readonly base: BaseIdentity;
  /** The base's weights as loaded: tensors they hold in the same shape are left out unless trained. */
  readonly baseWeights: StateDict;
  /** Names of the trained tensors (LoRA adapters included). */
  readonly trained: readonly string[];
  readonly lora?: LoraOptions;
}

/**
 * Writes the adapters of a fine-tuned model (`content.weights`: unmerged, adapters included) atomically; returns the
 * number of tensors written.
 */
export function saveAdapters(path: string, content: CheckpointContent, save: AdapterSave, opts: WriteOptions = {}): number {
  const trained = new Set(save.trained);
  const kept: StateDict = new Map();
  for (const [name, t] of content.weights) {
    const b = save.baseWeights.get(name);
    const sameShape = b && b.shape.length === t.shape.length && b.shape.every((d, i) => d === t.shape[i]);
    if (trained.has(name) || isLoraParam(name) || !sameShape) kept.set(name, t);
  }
  const meta: AdaptersMeta = {
    base: save.base,
    config: content.config,
    ...(save.lora ? { lora: save.lora } : {}),
    labels: content.labels,
    preprocess: content.preprocess,
  };
  assertWritable(path, opts);
  writeFileAtomic(path, encodeSafetensors(kept, { [ADAPTERS_KEY]: JSON.stringify(meta) }), opts);
  return kept.size;
}

/** Loads the base a checkpoint names (`overrides` from the fine-tuned config, for bare state dicts); refuses adapter files. */
export type BaseLoader = (source: string, overrides: Partial<ViTConfig>, revision?: string) => Checkpoint;

/**
 * An adapter file's tensors completed from its base: the fine-tuned model's weights (adapters merged), config,
 * labels and preprocessing. `base` loads another copy of the base than the recorded one; it must hash the same.
 */
export function applyAdapters(
  path: string,
  tensors: StateDict,
  metaJson: string,
  load: BaseLoader,
  base?: string,
): Omit<CheckpointContent, 'metadata'> {
  let meta: AdaptersMeta;
  try {
    meta = JSON.parse(metaJson) as AdaptersMeta;
    if (typeof meta.base?.sha256 !== 'string' || typeof meta.base.source !== 'string' || typeof meta.config !== 'object') {
      throw new Error('fields missing');
    }
  } catch (e) {
    throw new UserError(`${path} has invalid adapter metadata (${(e as Error).message}): save the adapters again with --save-adapters`);
  }
  const source = base ?? meta.base.source;
  const { numHeads, layerNormEps, pool } = meta.config;
  if (!base && !meta.base.revision && !existsSync(source)) {
    throw new UserError(`${path}: its base checkpoint ${source} is gone: put it back, or load with the same weights from elsewhere`);
  }
  const b = load(source, { numHeads, layerNormEps, pool }, base ? undefined : meta.base.revision);
  const sha = weightsHash(b.weights);
  if (sha !== meta.base.sha256) {
    const [got, want] = [sha.slice(0, 12), meta.base.sha256.slice(0, 12)];
    throw new UserError(
      `${path} was trained on other weights than ${source} holds (SHA-256 ${got}…, expected ${want}… of ${meta.base.source}): ` +
        'load it with its own base',
    );
  }
  // The fine-tuned model's tensors: from the file where it has them, else the base's (float32: merging needs it).
  const all: StateDict = new Map<string, Tensor>([...dequantizeWeights(b.config, b.weights), ...tensors]);
  const weights: StateDict = new Map([...trainingShapes(meta.config, meta.lora).keys()].filter((n) => all.has(n)).map((n) => [n, all.get(n)!]));
  return {
    config: meta.config,
    weights: meta.lora ? mergeLora(meta.config, weights, meta.lora) : weights,
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.preprocess ? { preprocess: meta.preprocess } : {}),
  };
}
