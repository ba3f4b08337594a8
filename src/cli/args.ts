// Flag parsing shared by the commands: node's parseArgs with --help text and one-line errors.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import type { LoadOptions } from '../inference/classifier.ts';
import type { MlpKind, Pool, ViTConfig } from '../model/config.ts';
import { type Precision, precisions } from '../model/int8.ts';
import type { ResampleFilter } from '../data/resample.ts';
import { parseDevice } from '../runtime/devices.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values'];
  positionals: string[];
}

/**
 * Parses `argv` for a command. Prints `help` and returns null on --help; unknown or malformed flags
 * become UserErrors that point at the command's --help.
 */
export function parseCommand<O extends Options>(command: string, argv: string[], options: O, help: string): Parsed<O> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(help.trim());
    return null;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values, positionals } as Parsed<O>;
  } catch (err) {
    throw new UserError(`${command}: ${(err as Error).message.split('\n')[0]} (see vitkit ${command} --help)`);
  }
}

/** A positive number flag, or the default. */
export function numberFlag(name: string, value: string | undefined, fallback: number, opts: { integer?: boolean; min?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const min = opts.min ?? Number.MIN_VALUE;
  if (!Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n))) {
    throw new UserError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'} ≥ ${opts.min ?? '>0'}, got '${value}'`);
  }
  return n;
}

/** A comma-separated list of numbers (e.g. --mean 0.5,0.5,0.5). */
export function numberList(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = value.split(',').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new UserError(`--${name} must be comma-separated numbers, got '${value}'`);
  return xs;
}

/** The model flags shared by predict, eval and friends: things a checkpoint may not say. */
export const modelFlags = {
  checkpoint: { type: 'string' },
  revision: { type: 'string' },
  'img-size': { type: 'string' },
  'crop-pct': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  interpolation: { type: 'string' },
  pool: { type: 'string' },
  heads: { type: 'string' },
  'ln-eps': { type: 'string' },
  mlp: { type: 'string' },
  'pos-resample': { type: 'string' },
  threads: { type: 'string' },
  precision: { type: 'string' },
  int8: { type: 'boolean' },
  device: { type: 'string' },
} as const;

export const modelFlagsHelp = `
Model and preprocessing (override what the checkpoint says):
  --checkpoint PATH    timm .safetensors/.pth, Hugging Face or timm directory, Google .npz, vitkit checkpoint, or
                       a Hub id (google/vit-base-patch16-224), downloaded on first use into the Hugging Face
                       cache ($HF_HOME/hub; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1 as in huggingface_hub)
  --revision R         the Hub id's branch, tag or commit (default main)
  --img-size N         run at this resolution (position embeddings are resampled in 2D)
  --crop-pct F         resize the shorter side to img-size/F then centre-crop (default 0.875; 1 = no crop margin)
  --mean a,b,c         normalisation mean (default: the checkpoint's, else ImageNet's)
  --std a,b,c          normalisation std
  --interpolation M    bicubic|bilinear resizing (default: the checkpoint's, else bicubic; bilinear for HF folders)
  --pool token|avg     classify from the class token or the mean of patch tokens
  --heads N            attention heads (default: from the checkpoint's config, else D/64)
  --ln-eps E           LayerNorm epsilon (default: checkpoint config, else 1e-6)
  --mlp KIND           the blocks' activation: gelu, gelu_tanh or quick_gelu (OpenAI CLIP), which a bare timm
                       file does not say (default: the checkpoint's config, else gelu; SwiGLU shows in the shapes)
  --pos-resample R     timm|transformers: resample position embeddings (BEiT: relative bias tables) for another
                       --img-size as that library does (default: transformers for Hugging Face checkpoints, else timm)
  --threads N          onnxruntime intra-op threads (default: all cores)
  --precision P        fp32, fp16 or int8 (default: the checkpoint's: int8 for a vitkit quantize file, else fp32).
                       fp16 computes in float16 and is meant for GPUs with f16 shaders (--device webgpu or auto;
                       vitkit info --devices says whether the GPU has them); it runs on the CPU too, for checking,
                       but is not faster there. int8: see --int8
  --int8               short for --precision int8: the linear layers in int8 (weights quantized per output channel
                       on load; an int8 checkpoint from vitkit quantize runs in int8 without it); CPU only
  --device D           cpu (default), webgpu (a GPU through onnxruntime's WebGPU/Vulkan provider; vitkit info
                       --devices says whether one is found), or auto (webgpu when an adapter is found, else cpu)`;

export type ModelFlagValues = { [K in keyof typeof modelFlags]?: (typeof modelFlags)[K]['type'] extends 'boolean' ? boolean : string };

/** Config overrides from the model flags. */
export function configOverrides(v: Pick<ModelFlagValues, 'pool' | 'heads' | 'ln-eps' | 'mlp' | 'pos-resample'>): Partial<ViTConfig> {
  const o: { -readonly [K in keyof ViTConfig]?: ViTConfig[K] } = {};
  if (v.pool !== undefined) {
    if (v.pool !== 'token' && v.pool !== 'avg') throw new UserError(`unknown pool '${v.pool}' (expected token|avg)`);
    o.pool = v.pool as Pool;
  }
  if (v.heads !== undefined) o.numHeads = numberFlag('heads', v.heads, 0, { integer: true, min: 1 });
  if (v['ln-eps'] !== undefined) o.layerNormEps = numberFlag('ln-eps', v['ln-eps'], 0);
  if (v.mlp !== undefined) {
    if (!['gelu', 'gelu_tanh', 'quick_gelu'].includes(v.mlp)) throw new UserError(`unknown --mlp '${v.mlp}' (expected gelu|gelu_tanh|quick_gelu)`);
    o.mlp = v.mlp as MlpKind;
  }
  const rule = v['pos-resample'];
  if (rule !== undefined) {
    if (rule !== 'timm' && rule !== 'transformers') throw new UserError(`--pos-resample must be timm or transformers, got '${rule}'`);
    o.posResample = rule;
  }
  return o;
}

/** --precision, or --int8 (its short form); undefined when neither is given. Both, disagreeing, is an error. */
export function precisionFlag(v: Pick<ModelFlagValues, 'precision' | 'int8'>): Precision | undefined {
  const p = v.precision;
  if (p !== undefined && !(precisions as readonly string[]).includes(p)) {
    throw new UserError(`unknown --precision '${p}' (expected ${precisions.join('|')})`);
  }
  if (v.int8 && p !== undefined && p !== 'int8') {
    throw new UserError(`--int8 is short for --precision int8, which conflicts with --precision ${p}: give one`);
  }
  return v.int8 ? 'int8' : (p as Precision | undefined);
}

/** Model loading options from the shared model flags. */
export function loadOptionsFromFlags(v: ModelFlagValues): LoadOptions {
  const precision = precisionFlag(v);
  return {
    ...(precision ? { precision } : {}),
    ...(v.device === undefined ? {} : { device: parseDevice(v.device) }),
    config: configOverrides(v),
    revision: v.revision,
    imgSize: v['img-size'] === undefined ? undefined : numberFlag('img-size', v['img-size'], 0, { integer: true, min: 1 }),
    cropPct: v['crop-pct'] === undefined ? undefined : numberFlag('crop-pct', v['crop-pct'], 0, { min: 0.01 }),
    mean: numberList('mean', v.mean),
    std: numberList('std', v.std),
    interpolation: interpolationFlag(v.interpolation),
  };
}

/** --interpolation: a resampling filter vitkit has. */
export function interpolationFlag(value: string | undefined): ResampleFilter | undefined {
  if (value === undefined || value === 'bicubic' || value === 'bilinear') return value;
  throw new UserError(`--interpolation must be bicubic or bilinear, got '${value}'`);
}

/** --threads, or undefined for onnxruntime's default of all cores. */
export function threadsFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : numberFlag('threads', value, 0, { integer: true, min: 1 });
}
