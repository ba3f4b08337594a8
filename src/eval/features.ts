// Frozen features for transfer evaluation (embed, few-shot, kNN, linear probe): a checkpoint's `pooled`
// representation of every image of one dataset split, run in batches through the Classifier and cached on disk.
//
// Cache: one directory per (model, data, split, per-class limit) under featureCacheDir(), holding features.npy
// (float32 [N, D]), labels.npy (int32 [N]) and meta.json (classes and what the entry was made from), written with
// writeDirAtomic so a crash or a concurrent run never leaves a half-written entry.
//
// The key hashes the LOADED model (resolved config, resolved preprocessing and every weight's bytes, after any
// position-embedding resampling) rather than the checkpoint file's path, size and mtime: features are a function of
// exactly those, so the key stays right when a training run rewrites a checkpoint in place within one mtime tick,
// when a checkpoint is a directory (Hugging Face), or when it is copied or converted to another format. Hashing
// costs about a second per GB of weights, small next to running the model over a dataset. Data is keyed by name for
// the npm datasets (their data has not changed in years; CACHE_FORMAT is bumped when vitkit's loading of them does)
// and, for directories, by every file's relative path, size and mtime.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { isDirectory, listEvalImages, splitFolders } from '../data/image-folder.ts';
import type { Dataset } from '../data/image-set.ts';
import { tensor } from '../graph/tensor.ts';
import { embeddingOutput } from '../model/config.ts';
import { detectFormat, loadDataset } from '../data/load-dataset.ts';
import { type PreprocessOptions, resolvePreprocessOptions } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import { Classifier, type LoadedModel, defaultBatch } from '../inference/classifier.ts';
import { type ImageSource, filesSource, imageSetSource } from './evaluate.ts';
import { writeDirAtomic } from '../weights/atomic-write.ts';
import { decodeNpy, encodeNpy } from '../weights/npz.ts';

/** Which part of a dataset. */
export type Split = 'train' | 'test';
export const SPLITS: readonly Split[] = ['train', 'test'];

/** Feature vectors with their class labels. */
export interface LabelledFeatures {
  /** n × dim values, one row per image. */
  readonly features: Float32Array;
  /** n class indices into `classes`. */
  readonly labels: Int32Array;
  readonly n: number;
  readonly dim: number;
  readonly classes: readonly string[];
}

/** Features of one split, and whether they came from the cache. */
export interface ExtractedFeatures extends LabelledFeatures {
  readonly split: Split;
  readonly cached: boolean;
}

export interface ExtractOptions {
  /** Images per Classifier run (default 32 on the CPU, 64 on a GPU: defaultBatch). */
  readonly batch?: number;
  /** Keep at most this many images per class, the first in stored order (quick runs on big sets; default all). */
  readonly perClass?: number;
  /** onnxruntime intra-op threads (default all cores). */
  readonly threads?: number;
  /** Read and write the on-disk cache (default true). */
  readonly cache?: boolean;
  /** Called after each batch that is computed (not for cache hits). */
  readonly onProgress?: (split: Split, done: number, total: number) => void;
}

/** Bumped whenever what an entry holds or how features are computed changes, so old entries are not reused. */
const CACHE_FORMAT = 'vitkit-features-1';

/** `$VITKIT_CACHE_DIR/features`, else `$XDG_CACHE_HOME/vitkit/features`, else `~/.cache/vitkit/features`. */
export function featureCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.VITKIT_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vitkit');
  return join(root, 'features');
}

/**
 * Pooled features of `data`'s splits through `model`, in the order asked. `data` is what `vitkit eval` takes: an
 * npm dataset name, or a directory of IDX files, CIFAR-10 batches, or class folders (split into train/ and test/
 * or val/, else split as the training loader splits it). A headless model (numClasses 0) works: only `pooled` is
 * computed. Dataset and session are loaded once, and only for splits the cache does not hold.
 */
export async function extractFeatures(
  model: LoadedModel,
  data: string,
  splits: readonly Split[],
  opts: ExtractOptions = {},
): Promise<ExtractedFeatures[]> {
  const { batch } = opts;
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) throw new UserError(`batch ${batch} is invalid: pass a positive integer`);
  if (opts.perClass !== undefined && !(Number.isInteger(opts.perClass) && opts.perClass >= 1)) {
    throw new UserError(`per-class limit ${opts.perClass} is invalid: pass a positive integer`);
  }
  const useCache = opts.cache ?? true;
  const base = useCache ? { format: CACHE_FORMAT, model: modelDigest(model), data: dataDigest(data), perClass: opts.perClass ?? null } : null;
  let dataset: Promise<Dataset> | undefined;
  let classifier: Classifier | undefined;
  const out: ExtractedFeatures[] = [];
  try {
    for (const split of splits) {
      const entry = base && join(featureCacheDir(), createHash('sha256').update(JSON.stringify({ ...base, split })).digest('hex').slice(0, 32));
      const hit = entry && readEntry(entry);
      if (hit) {
        out.push({ ...hit, split, cached: true });
        continue;
      }
      const source = await splitSource(data, split, model.preprocess, () => (dataset ??= loadDataset(data)));
      const indices = selectPerClass(source.labels, source.classes.length, opts.perClass);
      if (indices.length === 0) throw new UserError(`${data}: the ${split} split holds no images`);
      classifier ??= await Classifier.create(model, { threads: opts.threads, outputs: [embeddingOutput(model.config)] });
      const runBatch = batch ?? defaultBatch(classifier.device, 32);
      const onDone = (done: number) => opts.onProgress?.(split, done, indices.length);
      const { features, dim } = await pooledFeatures(classifier, source, indices, runBatch, onDone);
      const result: LabelledFeatures = {
        features,
        labels: Int32Array.from(indices, (i) => source.labels[i]),
        n: indices.length,
        dim,
        classes: source.classes,
      };
      if (entry) writeEntry(entry, result, { checkpoint: model.path, data, split, perClass: opts.perClass ?? null });
      out.push({ ...result, split, cached: false });
    }
  } finally {
    await classifier?.release();
  }
  return out;
}

/**
 * Checks that train features can be fitted and test features scored with them: both well formed, the same
 * dimension, and test labels inside the train split's classes. Bad input is a UserError naming the mismatch.
 */
export function checkFeaturePair(train: LabelledFeatures, test: LabelledFeatures): void {
  for (const [what, f] of [['train', train], ['test', test]] as const) {
    if (f.features.length !== f.n * f.dim || f.labels.length !== f.n) {
      throw new UserError(`${what} features hold ${f.features.length} values and ${f.labels.length} labels, expected ${f.n}×${f.dim} and ${f.n}`);
    }
    if (f.n === 0) throw new UserError(`no ${what} features: the ${what} split is empty`);
  }
  if (train.dim !== test.dim) {
    throw new UserError(
      `feature dimension mismatch: train features have ${train.dim} values, test features ${test.dim}: extract both with the same checkpoint`,
    );
  }
  const k = train.classes.length;
  const bad = [...train.labels, ...test.labels].find((l) => !(l >= 0 && l < k));
  if (bad !== undefined) throw new UserError(`label ${bad} is outside the ${k} train classes: test classes must be a subset of train classes`);
}


/** An ImageFolder split on disk (train/ + test/ or val/) is read file by file with the model's own transform. */
function isSplitFolder(root: string): boolean {
  return isDirectory(root) && detectFormat(root) === 'image-folder' && splitFolders(root) !== undefined;
}

async function splitSource(data: string, split: Split, pre: PreprocessOptions, dataset: () => Promise<Dataset>): Promise<ImageSource> {
  if (!isSplitFolder(data)) return imageSetSource((await dataset())[split], pre);
  const train = listEvalImages(join(data, 'train'));
  if (split === 'train') return filesSource(train.classes, train.files, Int32Array.from(train.labels), pre);
  const test = listEvalImages(data); // its test/ (or val/) part
  // test/ may lack some classes: its labels index its own folders, so map them onto the train classes by name
  const labels = Int32Array.from(test.labels, (l) => {
    const c = train.classes.indexOf(test.classes[l]!);
    if (c < 0) throw new UserError(`${data}: test class '${test.classes[l]}' has no folder in ${join(data, 'train')}: add it there or remove it`);
    return c;
  });
  return filesSource(train.classes, test.files, labels, pre);
}

/** Indices of at most `perClass` images per class, the first in stored order (all when no limit). */
function selectPerClass(labels: Int32Array, classes: number, perClass: number | undefined): number[] {
  const counts = new Int32Array(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (perClass === undefined || counts[labels[i]]++ < perClass) out.push(i);
  return out;
}

/**
 * Runs the images at `indices` through the classifier in batches, collecting the rows of its `output` (default the
 * model's embedding: `pooled`, or a CLIP head's projection of it) in order. The classifier must compute `output`.
 */
export async function pooledFeatures(
  classifier: Classifier,
  source: ImageSource,
  indices: readonly number[],
  batch: number,
  onProgress: (done: number) => void,
  output: 'pooled' | 'logits' = embeddingOutput(classifier.model.config),
): Promise<{ features: Float32Array; dim: number }> {
  let features = new Float32Array(0);
  let dim = 0;
  for (let start = 0; start < indices.length; start += batch) {
    const part = indices.slice(start, start + batch);
    const pooled = (await classifier.run(await source.load(part)))[output];
    if (!pooled) throw new Error(`the inference graph has no ${output} output`);
    if (start === 0) {
      dim = pooled.shape[1]!;
      features = new Float32Array(indices.length * dim); // D is known once the first batch ran
    }
    features.set(pooled.data as Float32Array, start * dim);
    onProgress(start + part.length);
  }
  return { features, dim };
}

/** The cache key's model part: resolved config and preprocessing, and every weight (see the file header). */
function modelDigest(model: LoadedModel): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ config: model.config, preprocess: resolvePreprocessOptions(model.preprocess) }));
  for (const name of [...model.weights.keys()].sort()) {
    const t = model.weights.get(name)!;
    h.update(`\n${name} ${t.dtype} [${t.shape.join(',')}]\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** The cache key's data part: a dataset name, or a directory's files (relative path, size, mtime). */
function dataDigest(data: string): string {
  if (!isDirectory(data)) return `name:${data}`;
  const root = resolve(data);
  const h = createHash('sha256').update(`dir:${root}\n`);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p);
        h.update(`${relative(root, p)}\t${s.size}\t${s.mtimeMs}\n`);
      }
    }
  };
  walk(root);
  return h.digest('hex');
}

interface EntryMeta {
  readonly checkpoint: string;
  readonly data: string;
  readonly split: Split;
  readonly perClass: number | null;
}

/** A cache entry, or null when it is missing or damaged (it is then recomputed and replaced). */
function readEntry(dir: string): LabelledFeatures | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { format?: string; classes?: unknown };
    const f = decodeNpy(readFileSync(join(dir, 'features.npy')), 'features.npy');
    const l = decodeNpy(readFileSync(join(dir, 'labels.npy')), 'labels.npy');
    const classes = meta.classes;
    if (meta.format !== CACHE_FORMAT || !Array.isArray(classes) || f.dtype !== 'float32' || l.dtype !== 'int32') return null;
    if (f.shape.length !== 2 || l.shape.length !== 1 || f.shape[0] !== l.shape[0]) return null;
    return { features: f.data as Float32Array, labels: l.data as Int32Array, n: f.shape[0]!, dim: f.shape[1]!, classes: classes as string[] };
  } catch {
    return null;
  }
}

function writeEntry(dir: string, f: LabelledFeatures, meta: EntryMeta): void {
  const files = {
    'features.npy': encodeNpy(tensor('float32', [f.n, f.dim], f.features)),
    'labels.npy': encodeNpy(tensor('int32', [f.n], f.labels)),
    'meta.json': [JSON.stringify({ format: CACHE_FORMAT, ...meta, n: f.n, dim: f.dim, classes: f.classes }, null, 1)],
  };
  try {
    writeDirAtomic(dir, files, { force: true }); // force: a damaged entry that readEntry refused is replaced
  } catch (e) {
    // another run may have written the same entry at the same moment: then all is well
    if (readEntry(dir)) return;
    throw new UserError(
      `cannot write the feature cache at ${dir} (${(e as Error).message}): set VITKIT_CACHE_DIR to a writable directory or pass --no-cache`,
    );
  }
}
