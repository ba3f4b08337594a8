// Hugging Face model directories: config.json (+ preprocessor_config.json) beside model.safetensors,
// sharded model-0000x-of-0000y.safetensors with an index, or pytorch_model.bin.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { StateDict } from '../graph/tensor.ts';
import type { PosResample, ViTConfig } from '../model/config.ts';
import type { CheckpointContent, Preprocess } from './checkpoint-types.ts';
import { encodeSafetensors, readSafetensors } from './safetensors.ts';
import { readPth } from './pth.ts';
import { hfToTimm } from './hf.ts';
import { hfModel } from './hf-families-write.ts';
import { familyHints, familyToTimm, familyTypes, isTextTower } from './hf-families.ts';
import { inferConfig } from './infer-config.ts';
import { hfOnnxFiles } from './hf-onnx.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/preprocess.ts';
import { UserError, shown } from '../errors.ts';

/** A Hugging Face directory read into canonical tensors plus what its JSON files say. */
export interface HfDir {
  readonly weights: StateDict;
  readonly hints: Partial<ViTConfig>;
  readonly labels?: string[];
  readonly preprocess?: Preprocess;
  readonly metadata: Record<string, string>;
}

/**
 * Where a folder's files may really live: the folder itself and, for a snapshot of the Hugging Face cache
 * (`models--org--name/snapshots/<rev>/`, whose files are links to `../../blobs/<hash>`), that model's blobs.
 */
function allowedRoots(dir: string): string[] {
  const real = realpathSync(dir);
  const repo = dirname(dirname(real));
  const isSnapshot = basename(dirname(real)) === 'snapshots' && basename(repo).startsWith('models--');
  return isSnapshot ? [real, join(repo, 'blobs')] : [real];
}

/** `dir/name`, refused when it resolves (through symlinks) outside `dir`: a folder may only read its own files. */
export function inside(dir: string, name: string): string {
  const path = join(dir, name);
  const real = realpathSync(path);
  const within = (root: string) => {
    const rel = relative(root, real);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  if (!allowedRoots(dir).some(within)) throw new UserError(`${path} is a link to ${real}, outside ${dir}: copy the file into the folder`);
  return path;
}

/** A weight file named by the folder's index: a plain file name (no directories, no '..') that exists in `dir`. */
function shardPath(dir: string, index: string, name: unknown): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new UserError(`${index} names weight file ${shown(name)}, which is not a plain file name in ${dir}: fix or re-download the index`);
  }
  if (!existsSync(join(dir, name))) throw new UserError(`${join(dir, name)} (listed in ${index}) does not exist: download every shard of the model`);
  return weightFile(inside(dir, name), ` (listed in ${index})`);
}

/** `path` when it is a file; a directory where weights should be is a UserError, not EISDIR on the first read. */
function weightFile(path: string, listed = ''): string {
  if (!statSync(path).isFile()) throw new UserError(`${path}${listed} is a directory, not a weight file: fix or re-download the model`);
  return path;
}

/** A JSON object from `path`; anything else is a UserError naming the file. */
export function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path} is not valid JSON (${(e as Error).message}): fix or re-download it`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${path} is not a JSON object: fix or re-download it`);
  return v as Record<string, unknown>;
}

const weightFiles = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'];

/** One weight file: .safetensors, or a PyTorch pickle (.bin); with `keep`, only the tensors it keeps. */
export function readShard(path: string, keep?: (name: string) => boolean): { tensors: StateDict; metadata: Record<string, string> } {
  if (path.endsWith('.safetensors')) return readSafetensors(path, keep);
  const tensors = readPth(path); // a pickle is read whole
  return { tensors: keep ? new Map([...tensors].filter(([n]) => keep(n))) : tensors, metadata: {} };
}

/**
 * A folder's weights: its one weight file, or every shard its index names, read into one state dict; with `keep`,
 * only the tensors it keeps (and only the shards that hold one).
 */
export function readWeights(dir: string, keep?: (name: string) => boolean): { tensors: StateDict; metadata: Record<string, string> } {
  const file = weightFiles.find((f) => existsSync(join(dir, f)));
  if (!file) throw new UserError(`${dir} has config.json but no weights (expected one of ${weightFiles.join(', ')})`);
  if (!file.endsWith('.index.json')) return readShard(weightFile(inside(dir, file)), keep);
  const index = weightFile(inside(dir, file));
  const map = readJson(index).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new UserError(`${index} has no weight_map: fix or re-download it`);
  const listed = Object.entries(map as Record<string, unknown>).filter(([name]) => !keep || keep(name));
  const shards = [...new Set(listed.map(([, shard]) => shard))].map((name) => shardPath(dir, index, name));
  const tensors: StateDict = new Map();
  for (const shard of shards) {
    for (const [k, v] of readShard(shard, keep).tensors) tensors.set(k, v);
  }
  return { tensors, metadata: {} };
}

function labelsOf(id2label: unknown): string[] | undefined {
  if (typeof id2label !== 'object' || id2label === null) return undefined;
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels = entries.map((_, i) => (id2label as Record<string, unknown>)[String(i)]);
  return labels.every((l) => typeof l === 'string') ? (labels as string[]) : undefined;
}

/** Largest image side a preprocessor config may ask for (decodeImage's default limit is 0x3fff² pixels). */
const MAX_SIDE = 0x3fff;

/**
 * ViTImageProcessor semantics: resize straight to `size`, rescale by 1/255, normalise; checked against `channels`.
 * CLIPImageProcessor and BitImageProcessor (CLIP, DINOv2) resize the shorter side to `size.shortest_edge` and
 * centre-crop `crop_size`: timm's eval transform with crop_pct = crop / shortest edge.
 */
function preprocessOf(path: string, p: Record<string, unknown>, channels: number): Preprocess | undefined {
  const nums = (v: unknown) => (
    Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : typeof v === 'number' ? [v] : undefined
  );
  const mean = nums(p.image_mean);
  const std = nums(p.image_std);
  if (!mean || !std) return undefined;
  for (const [key, v] of [['image_mean', mean], ['image_std', std]] as const) {
    if (v.length !== 1 && v.length !== channels) {
      throw new UserError(`${path} has ${v.length} ${key} values for ${channels} channel(s) in the weights: fix it or re-download the folder`);
    }
    const bad = v.find((x) => !Number.isFinite(x) || (key === 'image_std' && x <= 0));
    if (bad !== undefined) {
      throw new UserError(
        `${path} has ${key} ${bad} (expected finite numbers${key === 'image_std' ? ' above 0' : ''}): fix it or re-download the folder`,
      );
    }
  }
  const size = p.size as { height?: unknown; shortest_edge?: unknown } | number | undefined;
  const imgSize = typeof size === 'number' ? size : (size?.height ?? size?.shortest_edge);
  if (imgSize !== undefined && !(Number.isInteger(imgSize) && (imgSize as number) > 0 && (imgSize as number) <= MAX_SIDE)) {
    throw new UserError(`${path} has size ${shown(imgSize)} (expected an integer from 1 to ${MAX_SIDE}): fix it or re-download the folder`);
  }
  // PIL's codes (what `resample` holds): 2 bilinear, 3 bicubic; vitkit has no other filter, so others keep the default
  const interpolation = p.resample === 3 ? 'bicubic' as const : p.resample === 2 ? 'bilinear' as const : undefined;
  const filter = interpolation ? { interpolation } : {};
  // CLIP's and DINOv2's processors resize the shortest edge, then centre-crop: timm's crop, with crop_pct = crop/edge
  const crop = p.do_center_crop === true ? p.crop_size as { height?: unknown } | number | undefined : undefined;
  const cropSize = typeof crop === 'number' ? crop : crop?.height;
  const shortest = typeof size === 'object' ? size?.shortest_edge : undefined;
  if (typeof cropSize === 'number' && typeof shortest === 'number' && Number.isInteger(cropSize) && cropSize > 0 && cropSize <= shortest) {
    return { mean, std, resize: 'shorter-crop', imgSize: cropSize, cropPct: cropSize / shortest, ...filter };
  }
  // crop_pct is not ViTImageProcessor's: vitkit writes it to keep a timm checkpoint's crop for the way back to timm
  const cropPct = typeof p.crop_pct === 'number' && p.crop_pct > 0 && p.crop_pct <= 1 ? p.crop_pct : undefined;
  return { mean, std, resize: 'squash', ...(imgSize ? { imgSize: imgSize as number } : {}), ...filter, ...(cropPct ? { cropPct } : {}) };
}

/** config.json fields that the weights' shapes also determine: they must agree before anything is built. */
const declaredFields = [
  ['hidden_size', 'embedDim'], ['num_hidden_layers', 'depth'], ['intermediate_size', 'mlpDim'],
  ['image_size', 'imgSize'], ['patch_size', 'patchSize'], ['num_channels', 'inChans'],
] as const;

function checkDeclared(path: string, cfg: Record<string, unknown>, shapes: ViTConfig): void {
  for (const [key, field] of declaredFields) {
    const v = cfg[key];
    if (v !== undefined && v !== shapes[field]) {
      throw new UserError(`${path} says ${key} ${shown(v)} but the weights have ${shapes[field]}: fix config.json or re-download the folder`);
    }
  }
  const eps = cfg.layer_norm_eps;
  if (eps !== undefined && !(typeof eps === 'number' && eps > 0 && eps < 1)) {
    throw new UserError(`${path} has layer_norm_eps ${shown(eps)} (expected a small positive number such as 1e-12): fix config.json`);
  }
}

/** The model types vitkit reads: ViT and DeiT (ViT's naming), and the families in hf-families.ts. */
const modelTypes = ['vit', 'deit', ...Object.keys(familyTypes)];

/**
 * How transformers resamples each model type's position embeddings for `interpolate_pos_encoding` (config.ts,
 * PosResample; read from transformers 5.18): its Dinov2WithRegisters interpolates antialiased, as timm does.
 */
const posResampleOf = (type: string): PosResample => (type === 'dinov2_with_registers' ? 'timm' : 'transformers');

/** Reads a Hugging Face ViT-family directory (the caller has checked that config.json exists). */
export function readHfDir(dir: string): HfDir {
  const cfgPath = inside(dir, 'config.json');
  const top = readJson(cfgPath);
  const type = top.model_type ?? 'vit';
  if (typeof type !== 'string' || !modelTypes.includes(type)) {
    throw new UserError(`${cfgPath} has model_type ${shown(type)} (vitkit reads ${modelTypes.join(', ')}): use a ViT-family checkpoint`);
  }
  // A whole CLIPModel/SiglipModel keeps its vision tower's settings in vision_config.
  const cfg = (type === 'clip' || type === 'siglip') && typeof top.vision_config === 'object' && top.vision_config
    ? (top.vision_config as Record<string, unknown>)
    : top;
  const { tensors, metadata } = readWeights(dir, cfg === top ? undefined : (name) => !isTextTower(name)); // the image tower alone
  const family = familyTypes[type];
  const weights = family ? familyToTimm(family, tensors) : hfToTimm(tensors);
  const familyHinted = { ...familyHints(cfgPath, cfg), ...(tensors.has('visual_projection.weight') ? { projectionHead: true } : {}) };
  const shapes = inferConfig(weights, dir, familyHinted); // what the weights say, before config.json's other hints
  checkDeclared(cfgPath, cfg, shapes);
  const hints: Partial<ViTConfig> = {
    ...familyHinted,
    posResample: posResampleOf(type),
    ...(typeof cfg.num_attention_heads === 'number' ? { numHeads: cfg.num_attention_heads } : {}),
    ...(typeof cfg.layer_norm_eps === 'number' ? { layerNormEps: cfg.layer_norm_eps } : {}),
  };
  const preprocess = existsSync(join(dir, 'preprocessor_config.json'))
    ? preprocessOf(join(dir, 'preprocessor_config.json'), readJson(inside(dir, 'preprocessor_config.json')), shapes.inChans)
    : undefined;
  const labels = labelsOf(cfg.id2label);
  return { weights, hints, metadata, ...(labels ? { labels } : {}), ...(preprocess ? { preprocess } : {}) };
}

/**
 * The files of a Hugging Face directory for a checkpoint, as the transformers class that computes it names them
 * (hf-families-write.ts: ViT, DeiT, DINOv2, CLIP's or SigLIP's vision tower, BEiT): config.json with id2label,
 * model.safetensors, preprocessor_config.json (the checkpoint's normalisation, else ImageNet's) and, with `onnx`,
 * onnx/model.onnx — what transformers and transformers.js load.
 */
export function hfDirFiles(c: CheckpointContent, opts: { onnx?: boolean } = {}): Record<string, Uint8Array[]> {
  const { config: cfg } = c;
  const model = hfModel(cfg, c.weights);
  // class names where the model classifies: a projection head's outputs (CLIP's image_embeds) are no classes
  const labels = cfg.projectionHead || cfg.numClasses === 0 ? undefined : c.labels ?? Array.from({ length: cfg.numClasses }, (_, i) => `LABEL_${i}`);
  const config = {
    ...model.config,
    ...(labels
      ? { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) }
      : {}),
  };
  const files: Record<string, Uint8Array[]> = {
    'config.json': [Buffer.from(JSON.stringify(config, null, 2) + '\n')],
    'model.safetensors': encodeSafetensors(model.weights, { format: 'pt', ...c.metadata }),
  };
  const p: Omit<Preprocess, 'resize'> = c.preprocess ?? { mean: IMAGENET_MEAN, std: IMAGENET_STD };
  // ViTImageProcessor can only resize straight to `size` (with PIL's filter `resample`, read back by vitkit, so both
  // run the same transform): a 'shorter-crop' checkpoint's centre crop is kept as crop_pct, which it ignores.
  const size = p.imgSize ?? cfg.imgSize;
  const filter = p.interpolation ?? (c.preprocess?.resize === 'shorter-crop' ? 'bicubic' : 'bilinear'); // as vitkit runs it
  const pp = {
    do_normalize: true, do_rescale: true, do_resize: true, image_mean: p.mean, image_std: p.std,
    resample: filter === 'bicubic' ? 3 : 2, rescale_factor: 1 / 255, size: { height: size, width: size },
    ...(p.cropPct !== undefined ? { crop_pct: p.cropPct } : {}), image_processor_type: 'ViTImageProcessor',
  };
  files['preprocessor_config.json'] = [Buffer.from(JSON.stringify(pp, null, 2) + '\n')];
  if (opts.onnx) for (const [name, bytes] of Object.entries(hfOnnxFiles(cfg, c.weights, model.type))) files[name] = [bytes];
  return files;
}
