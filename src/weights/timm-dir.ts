// timm's Hub layout (what `timm.create_model('hf-hub:…')` downloads and `push_to_hf_hub` writes): model.safetensors
// (or, in older repos, pytorch_model.bin) with timm's parameter names beside a config.json holding `architecture` and
// `pretrained_cfg` (input size, mean/std, crop_pct, interpolation) and `label_names` — not a transformers config, so it
// is read and written here rather than as a Hugging Face directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDict } from '../graph/tensor.ts';
import { type ViTConfig, presets } from '../model/config.ts';
import { DEFAULT_CROP_PCT } from '../data/preprocess.ts';
import type { CheckpointContent, Preprocess } from './checkpoint-types.ts';
import { inside, readJson, readShard } from './hf-dir.ts';
import { encodeSafetensors } from './safetensors.ts';
import { UserError } from '../errors.ts';

/** Whether a folder's config.json is timm's (it names an `architecture`; transformers' names `model_type`). */
export function isTimmDir(dir: string): boolean {
  try {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    return typeof cfg.architecture === 'string' && cfg.model_type === undefined;
  } catch {
    return false; // the Hugging Face reader reports unreadable JSON
  }
}

const numbers = (v: unknown): number[] | undefined => (
  Array.isArray(v) && v.length && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined
);

/** Reads a timm Hub folder: weights as they are, heads and epsilon from the architecture's preset, timm's eval transform. */
export function readTimmDir(dir: string): {
  weights: StateDict;
  hints: Partial<ViTConfig>;
  labels?: string[];
  preprocess?: Preprocess;
  metadata: Record<string, string>;
} {
  // through inside(): like a Hugging Face folder, a timm folder reads only its own files (or its snapshot's blobs)
  const cfg = readJson(inside(dir, 'config.json'));
  const name = ['model.safetensors', 'pytorch_model.bin'].find((f) => existsSync(join(dir, f)));
  if (!name) throw new UserError(`${dir} has timm's config.json but neither model.safetensors nor pytorch_model.bin: re-download it`);
  const { tensors, metadata } = readShard(inside(dir, name));
  // timm names variants `<architecture>.<tag>`; the preset, where vitkit has it, says what shapes cannot
  const arch = presets[String(cfg.architecture).split('.')[0]!];
  const args = (cfg.model_args ?? {}) as Record<string, unknown>;
  const hints: Partial<ViTConfig> = {
    ...(arch ? { numHeads: arch.numHeads, layerNormEps: arch.layerNormEps, ...(arch.mlp ? { mlp: arch.mlp } : {}) } : {}),
    ...(typeof args.num_heads === 'number' ? { numHeads: args.num_heads } : {}),
  };
  const p = (cfg.pretrained_cfg ?? {}) as Record<string, unknown>;
  const mean = numbers(p.mean);
  const std = numbers(p.std);
  const size = numbers(p.input_size)?.[2];
  const interpolation = p.interpolation === 'bicubic' || p.interpolation === 'bilinear' ? p.interpolation : undefined;
  // timm's 'squash' resizes straight to the size (then crops crop_pct of nothing at 1.0): ViTImageProcessor's resize
  const preprocess: Preprocess | undefined = mean && std
    ? {
        mean, std, resize: p.crop_mode === 'squash' ? 'squash' : 'shorter-crop',
        ...(typeof p.crop_pct === 'number' && p.crop_mode !== 'squash' ? { cropPct: p.crop_pct } : {}),
        ...(size ? { imgSize: size } : {}), ...(interpolation ? { interpolation } : {}),
      }
    : undefined;
  const labels = Array.isArray(cfg.label_names) && cfg.label_names.every((l) => typeof l === 'string') ? (cfg.label_names as string[]) : undefined;
  return { weights: tensors, hints, metadata, ...(labels ? { labels } : {}), ...(preprocess ? { preprocess } : {}) };
}

/** The preset timm would build for these shapes (its `architecture`), else a plain ViT that `model_args` reshapes. */
function architectureOf(cfg: ViTConfig): string {
  const same = (p: ViTConfig) => (['patchSize', 'embedDim', 'depth', 'numHeads', 'mlpDim'] as const).every((k) => p[k] === cfg[k])
    && JSON.stringify(p.backbone) === JSON.stringify(cfg.backbone);
  return Object.keys(presets).find((name) => same(presets[name]!)) ?? 'vit_base_patch16_224';
}

/**
 * timm's pretrained_cfg for what a checkpoint states: its eval transform (mean/std, crop, interpolation) only where
 * stated, so that a folder written from a file that says nothing still says nothing (timm then assumes ImageNet's).
 * A crop fraction wins over 'squash': a Hugging Face directory keeps the timm crop it cannot run as crop_pct.
 */
function pretrainedCfg(c: CheckpointContent): Record<string, unknown> {
  const { config: cfg, preprocess: p } = c;
  const size = p?.imgSize ?? cfg.imgSize;
  const cfgOut: Record<string, unknown> = { input_size: [cfg.inChans, size, size], num_classes: cfg.numClasses };
  if (!p) return cfgOut;
  const squash = p.resize === 'squash' && p.cropPct === undefined;
  return {
    ...cfgOut,
    interpolation: p.interpolation ?? (squash ? 'bilinear' : 'bicubic'),
    crop_pct: squash ? 1 : (p.cropPct ?? DEFAULT_CROP_PCT),
    crop_mode: squash ? 'squash' : 'center',
    mean: p.mean, std: p.std,
  };
}

/**
 * The files of a timm Hub folder for a checkpoint: model.safetensors (timm names) and config.json with the
 * architecture, `model_args` that rebuild its shapes, `pretrained_cfg` and the class names (`label_names`).
 */
export function timmDirFiles(c: CheckpointContent): Record<string, Uint8Array[]> {
  const { config: cfg } = c;
  const pool = cfg.pool === 'avg' ? 'avg' : 'token';
  const config = {
    architecture: architectureOf(cfg),
    num_classes: cfg.numClasses,
    num_features: cfg.embedDim,
    global_pool: pool,
    // a hybrid's backbone is its architecture's: only a plain ViT is rebuilt from keyword arguments alone
    model_args: {
      img_size: cfg.imgSize, num_heads: cfg.numHeads, num_classes: cfg.numClasses, global_pool: pool,
      ...(cfg.backbone ? {} : {
        patch_size: cfg.patchSize, in_chans: cfg.inChans, embed_dim: cfg.embedDim, depth: cfg.depth,
        mlp_ratio: cfg.mlpDim / cfg.embedDim, qkv_bias: cfg.qkvBias, class_token: cfg.classToken,
      }),
    },
    pretrained_cfg: pretrainedCfg(c),
    ...(c.labels ? { label_names: c.labels } : {}),
  };
  return {
    'config.json': [Buffer.from(JSON.stringify(config, null, 2) + '\n')],
    'model.safetensors': encodeSafetensors(c.weights, { format: 'pt', ...c.metadata }),
  };
}
