// The public entry to weights: load any supported checkpoint as a ViTConfig + canonical (timm-named) tensors,
// and save one in any writable format. Format detection, config inference and shape checks all happen here.
import { parameterShapes } from '../model/params.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { SCALE_SUFFIX, dequantizeWeights } from '../model/int8.ts';
import { type ViTConfig, describeFamily } from '../model/config.ts';
import type { Checkpoint, CheckpointContent, CheckpointFormat, Preprocess, SaveFormat } from './checkpoint-types.ts';
import type { ByteSource } from './byte-source.ts';
import { withFileSource } from './file-source.ts';
import { type WriteOptions, assertWritable, writeDirAtomic, writeFileAtomic } from './atomic-write.ts';
import { encodeSafetensors, parseSafetensors } from './safetensors-codec.ts';
import { encodeVitkit, splitVitkit } from './vitkit-format.ts';
import { ADAPTERS_KEY, applyAdapters } from './adapters.ts';
import { encodeNpz, parseNpz } from './npz.ts';
import { parsePth } from './pth.ts';
import { looksLikeZip, readZip } from './zip.ts';
import { isHfNaming, hfToTimm } from './hf.ts';
import { beitLayerScaleNames } from './rename.ts';
import { googleHeads, googleToTimm, timmToGoogle } from './google.ts';
import { hfDirFiles, readHfDir } from './hf-dir.ts';
import { resolveCheckpointPath } from '../hub/cache.ts';
import { isTimmDir, readTimmDir, timmDirFiles } from './timm-dir.ts';
import { checkWeights, inferConfig } from './infer-config.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_CROP_PCT } from '../data/preprocess.ts';

export type { Checkpoint, CheckpointContent, CheckpointFormat, Preprocess, SaveFormat } from './checkpoint-types.ts';

const accepted =
  'a .safetensors (timm or vitkit), .npz (Google), .pth/.pt/.bin/.pth.tar (PyTorch) file, ' +
  'a Hugging Face or timm directory with config.json, or a Hub id in the local cache';

/** What one reader produced, before config inference: canonical tensors plus whatever the file records. */
interface Loaded {
  readonly format: CheckpointFormat;
  readonly weights: StateDict;
  readonly hints?: Partial<ViTConfig>;
  readonly labels?: string[];
  readonly preprocess?: Preprocess;
  readonly metadata?: Record<string, string>;
  readonly trainingState?: StateDict;
}

type FileKind = 'safetensors' | 'npz' | 'pth';

const byExtension: Readonly<Record<string, FileKind>> = {
  '.safetensors': 'safetensors', '.npz': 'npz', '.pth': 'pth', '.pt': 'pth', '.bin': 'pth',
};

/** Identifies a file without a known extension from its first bytes. */
function sniff(src: ByteSource): FileKind {
  if (looksLikeZip(src)) return readZip(src).some((e) => e.name.endsWith('data.pkl')) ? 'pth' : 'npz';
  if (src.size > 9) {
    const head = Buffer.from(src.read(0, 9));
    if (Number(head.readBigUInt64LE(0)) < src.size && head[8] === 0x7b /* { */) return 'safetensors';
  }
  throw new UserError(`${src.name} is not a checkpoint vitkit recognises (expected ${accepted})`);
}

/** A bare weight file with transformers' ViT/DeiT names runs at another resolution as transformers would. */
const HF_FILE_HINTS: Partial<ViTConfig> = { posResample: 'transformers' };

function fromSafetensors(src: ByteSource): Loaded {
  const { tensors, metadata } = parseSafetensors(src);
  const vitkit = splitVitkit(src, tensors, metadata);
  if (vitkit) {
    const { meta, weights, trainingState, metadata: rest } = vitkit;
    const training = trainingState.size ? { trainingState } : {};
    return { format: 'vitkit', weights, hints: meta.config, labels: meta.labels, preprocess: meta.preprocess, metadata: rest, ...training };
  }
  // a bare model.safetensors from a Hugging Face repo carries HF names
  if (isHfNaming(tensors)) return { format: 'hf', weights: hfToTimm(tensors), hints: HF_FILE_HINTS, metadata };
  return { format: 'timm', weights: beitLayerScaleNames(tensors), metadata };
}

function fromNpz(src: ByteSource): Loaded {
  const g = parseNpz(src);
  const heads = googleHeads(g);
  return { format: 'npz', weights: googleToTimm(g), hints: heads ? { numHeads: heads } : {} };
}

function fromPth(src: ByteSource): Loaded {
  const sd = parsePth(src);
  return isHfNaming(sd) ? { format: 'pth', weights: hfToTimm(sd), hints: HF_FILE_HINTS } : { format: 'pth', weights: beitLayerScaleNames(sd) };
}

function readAny(path: string): Loaded {
  if (!existsSync(path)) throw new UserError(`${path} does not exist (expected ${accepted})`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'config.json'))) throw new UserError(`${path} is a directory without config.json (expected ${accepted})`);
    return isTimmDir(path) ? { format: 'timm', ...readTimmDir(path) } : { format: 'hf', ...readHfDir(path) };
  }
  // timm's Hub layout read through its weights file (an exported run's output/model.safetensors): config.json says
  // what the shapes cannot (heads, pooling)
  if (basename(path) === 'model.safetensors' && isTimmDir(dirname(path))) return { format: 'timm', ...readTimmDir(dirname(path)) };
  return withFileSource(path, (src) => {
    const kind = byExtension[extname(path).toLowerCase()] ?? sniff(src);
    return kind === 'safetensors' ? fromSafetensors(src) : kind === 'npz' ? fromNpz(src) : fromPth(src);
  });
}

/**
 * Puts tensors in timm's state-dict order (after checkWeights has shown they are exactly the expected ones),
 * each int8 weight followed by its scale.
 */
function canonicalOrder(cfg: ViTConfig, sd: StateDict): StateDict {
  return new Map(
    [...parameterShapes(cfg).keys()].flatMap((k) => [k, k + SCALE_SUFFIX].filter((n) => sd.has(n)).map((n): [string, Tensor] => [n, sd.get(n)!])),
  );
}

/**
 * Loads a checkpoint in any supported format: timm `.safetensors`, vitkit `.safetensors`, Google `.npz`,
 * PyTorch `.pth/.pt/.bin`, or a Hugging Face directory. Returns the architecture (inferred from tensor shapes,
 * with heads and LayerNorm epsilon from the checkpoint's own config where it has one; `overrides` win) and the
 * canonical float32 weights, checked against it. Any problem with the file is a UserError naming it. A path that
 * does not exist but reads as a Hub id (`org/name`) is taken from the local Hugging Face cache at `opts.revision`
 * (synchronously, so nothing is downloaded here: `await pull(id)` first, as the CLI does).
 * An adapter file (adapters.ts) loads its base (the recorded one, or `opts.base` with the same weights) merged.
 */
export function loadCheckpoint(path: string, overrides: Partial<ViTConfig> = {}, opts: { revision?: string; base?: string } = {}): Checkpoint {
  return load(path, overrides, opts, true);
}

/** `f()`, its UserErrors naming `path`: name converters (Google, HF) raise them deep inside, where it is unknown. */
function namingPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserError && !e.message.includes(path)) throw new UserError(`${path}: ${e.message}`);
    throw e;
  }
}

function load(path: string, overrides: Partial<ViTConfig>, opts: { revision?: string; base?: string }, adaptersAllowed: boolean): Checkpoint {
  path = resolveCheckpointPath(path, opts.revision);
  const r = namingPath(path, (): Loaded => {
    const read = readAny(path);
    const adapters = read.metadata?.[ADAPTERS_KEY];
    if (adapters === undefined) return read;
    if (!adaptersAllowed) throw new UserError(`${path} is itself an adapter file: adapters apply to a full checkpoint`);
    const merged = applyAdapters(path, read.weights, adapters, (p, o, revision) => load(p, o, { revision }, false), opts.base);
    return {
      format: 'vitkit',
      weights: merged.weights,
      hints: merged.config,
      labels: merged.labels ? [...merged.labels] : undefined,
      preprocess: merged.preprocess,
    };
  });
  const config = inferConfig(r.weights, path, r.hints, overrides);
  checkWeights(config, r.weights, path);
  // Google's checkpoints are normalised to [-1, 1]; the other formats say so themselves or use timm's default
  const preprocess = r.preprocess
    ?? (r.format === 'npz'
      ? { mean: Array(config.inChans).fill(0.5), std: Array(config.inChans).fill(0.5), resize: 'shorter-crop' as const }
      : undefined);
  return {
    format: r.format,
    path,
    config,
    weights: canonicalOrder(config, r.weights),
    ...(r.labels ? { labels: r.labels } : {}),
    ...(preprocess ? { preprocess } : {}),
    ...(r.metadata && Object.keys(r.metadata).length ? { metadata: r.metadata } : {}),
    ...(r.trainingState ? { trainingState: r.trainingState } : {}),
  };
}

/** Whether a 'timm' output path is timm's Hub folder (config.json + model.safetensors) rather than a bare file. */
const isTimmFolder = (path: string): boolean => extname(path).toLowerCase() !== '.safetensors';

/**
 * What `format` at `path` cannot hold of a checkpoint's labels and preprocessing, as one sentence saying where it
 * can (for a notice), or undefined when nothing is lost. A Google .npz reloads as mean = std = 0.5 with timm's crop.
 */
export function unsavedBy(path: string, format: SaveFormat, c: Pick<CheckpointContent, 'labels' | 'preprocess'>): string | undefined {
  const named = c.labels?.some((l, i) => l !== String(i)); // class indices are what every format reloads without names
  if (format === 'npz') {
    const p = c.preprocess;
    const googles = !p || ([...p.mean, ...p.std].every((v) => v === 0.5) && p.resize === 'shorter-crop'
      && (p.cropPct ?? DEFAULT_CROP_PCT) === DEFAULT_CROP_PCT && (p.interpolation ?? 'bicubic') === 'bicubic');
    const lost = [...(googles ? [] : ['its preprocessing']), ...(named ? ['its class names'] : [])];
    if (!lost.length) return undefined;
    return `${path}: a Google .npz cannot hold ${lost.join(' or ')} (it reloads as mean/std 0.5): convert to vitkit, hf or `
      + 'a timm folder to keep them, or pass --mean/--std/--crop-pct/--interpolation when using it';
  }
  if (format === 'timm' && !isTimmFolder(path) && (c.preprocess || named)) {
    const lost = c.preprocess && named ? 'preprocessing or class names' : c.preprocess ? 'preprocessing' : 'class names';
    return `${path}: a bare timm .safetensors cannot hold its ${lost}: give a folder as the output for timm's Hub layout `
      + '(config.json with pretrained_cfg)';
  }
  return undefined;
}

/**
 * Saves a checkpoint atomically: 'vitkit' writes one .safetensors file (config, labels and preprocessing as
 * metadata), 'timm' a bare .safetensors file or, at a path not ending in .safetensors, timm's Hub folder
 * (model.safetensors + config.json with pretrained_cfg and label_names), 'npz' a Google-layout .npz, 'hf' a
 * directory with config.json, model.safetensors and preprocessor_config.json. Labels and preprocessing are dropped
 * by files that cannot hold them (see unsavedBy). Only 'vitkit' holds int8 weights; the others get float32.
 * An existing `path` is a UserError unless `opts.force`. `opts.onnx` adds onnx/model.onnx to an 'hf' directory
 * (for transformers.js).
 */
export function saveCheckpoint(path: string, content: CheckpointContent, format: SaveFormat, opts: WriteOptions & { onnx?: boolean } = {}): void {
  checkWeights(content.config, content.weights, `the weights to save as ${path}`);
  const family = describeFamily(content.config);
  if (format === 'npz' && family !== 'ViT') {
    // the format records none of the families' switches (an activation, a projection head): refuse, not mislabel
    throw new UserError(`${path}: Google's .npz holds the paper's ViT; this model is ${family}: save it as timm or vitkit`);
  }
  const c = format === 'vitkit' ? content : { ...content, weights: dequantizeWeights(content.config, content.weights) };
  assertWritable(path, opts);
  switch (format) {
    case 'timm':
      if (isTimmFolder(path)) return writeDirAtomic(path, timmDirFiles(c), opts);
      return writeFileAtomic(path, encodeSafetensors(c.weights, { format: 'pt', ...c.metadata }), opts);
    case 'vitkit':
      return writeFileAtomic(path, encodeVitkit(c), opts);
    case 'npz':
      return writeFileAtomic(path, encodeNpz(timmToGoogle(c.weights, c.config.numHeads)), opts);
    case 'hf':
      // transformers' ViT has no backbone (its ViTHybrid names and configures one differently): refuse, not mislabel.
      if (c.config.backbone) throw new UserError(`${path}: a hybrid ViT cannot be saved as a Hugging Face directory: save it as timm, npz or vitkit`);
      return writeDirAtomic(path, namingPath(path, () => hfDirFiles(c, opts)), opts);
    default:
      throw new UserError(`unknown checkpoint format '${String(format)}' (expected timm|vitkit|npz|hf)`);
  }
}

/** Size on disk of a checkpoint file, or of the files in a checkpoint directory. */
export function checkpointBytes(path: string): number {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, f) => n + checkpointBytes(join(path, f)), 0) : s.size;
}
