// timm's Hub layout (what `timm.create_model('hf-hub:…')` downloads and `push_to_hf_hub` writes): model.safetensors
// with timm's parameter names beside a config.json holding `architecture` and `pretrained_cfg` (input size,
// mean/std, crop_pct) — not a transformers config, so it is read here rather than as a Hugging Face directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDict } from '../graph/tensor.ts';
import { type ViTConfig, presets } from '../model/config.ts';
import type { Preprocess } from './checkpoint-types.ts';
import { readJson } from './hf-dir.ts';
import { readSafetensors } from './safetensors.ts';
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

const numbers = (v: unknown): number[] | undefined => (Array.isArray(v) && v.length && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined);

/** Reads a timm Hub folder: weights as they are, heads and epsilon from the architecture's preset, timm's eval transform. */
export function readTimmDir(dir: string): { weights: StateDict; hints: Partial<ViTConfig>; labels?: string[]; preprocess?: Preprocess; metadata: Record<string, string> } {
  const cfg = readJson(join(dir, 'config.json'));
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) throw new UserError(`${dir} has timm's config.json but no model.safetensors: re-download it`);
  const { tensors, metadata } = readSafetensors(file);
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
  const preprocess: Preprocess | undefined = mean && std
    ? { mean, std, resize: 'shorter-crop', ...(typeof p.crop_pct === 'number' ? { cropPct: p.crop_pct } : {}), ...(size ? { imgSize: size } : {}) }
    : undefined;
  const labels = Array.isArray(cfg.label_names) && cfg.label_names.every((l) => typeof l === 'string') ? (cfg.label_names as string[]) : undefined;
  return { weights: tensors, hints, metadata, ...(labels ? { labels } : {}), ...(preprocess ? { preprocess } : {}) };
}
