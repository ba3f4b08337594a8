// ViT architecture configuration: a plain readonly object, presets from the paper's Table 1 named as in timm.
import { UserError } from '../errors.ts';

export type Pool = 'token' | 'avg';

export interface ViTConfig {
  /** Input resolution (square) the position embeddings are laid out for. */
  readonly imgSize: number;
  /** Side of the square patches; the token grid is imgSize / patchSize per side. */
  readonly patchSize: number;
  /** Image channels (3 for RGB, 1 for grayscale data such as MNIST). */
  readonly inChans: number;
  /** Token width D. */
  readonly embedDim: number;
  /** Number of Transformer encoder blocks. */
  readonly depth: number;
  /** Attention heads; D must divide evenly. */
  readonly numHeads: number;
  /** Hidden width of each block's MLP (4·D in the paper). */
  readonly mlpDim: number;
  /** Classes of the linear head; 0 means no head (the model outputs pooled features). */
  readonly numClasses: number;
  /** Whether a learnable [class] token is prepended (required for pool 'token'). */
  readonly classToken: boolean;
  /** Classify from the class token ('token') or the mean of patch tokens ('avg', timm's fc_norm layout). */
  readonly pool: Pool;
  /** LayerNorm epsilon: 1e-6 for timm/JAX checkpoints, 1e-5 for PyTorch-default ones. */
  readonly layerNormEps: number;
  /** Bias on the q/k/v projections (true in the paper's models). */
  readonly qkvBias: boolean;
  /** Width of the pre-training head's tanh hidden layer (pre_logits.fc); 0 for a plain linear head. */
  readonly preLogitsDim: number;
}

export const defaultConfig: ViTConfig = {
  imgSize: 224,
  patchSize: 16,
  inChans: 3,
  embedDim: 768,
  depth: 12,
  numHeads: 12,
  mlpDim: 3072,
  numClasses: 1000,
  classToken: true,
  pool: 'token',
  layerNormEps: 1e-6,
  qkvBias: true,
  preLogitsDim: 0,
};

/** Width, depth and heads of the paper's sizes (Table 1, plus DeiT's Tiny and Small). */
export const sizes = {
  tiny: { embedDim: 192, depth: 12, numHeads: 3 },
  small: { embedDim: 384, depth: 12, numHeads: 6 },
  base: { embedDim: 768, depth: 12, numHeads: 12 },
  large: { embedDim: 1024, depth: 24, numHeads: 16 },
  huge: { embedDim: 1280, depth: 32, numHeads: 16 },
} as const;

export type Size = keyof typeof sizes;

/** The size/patch/resolution combinations timm names. */
const presetGrid: ReadonlyArray<[Size, number, number]> = [
  ['tiny', 16, 224], ['tiny', 16, 384],
  ['small', 8, 224], ['small', 16, 224], ['small', 16, 384], ['small', 32, 224], ['small', 32, 384],
  ['base', 8, 224], ['base', 16, 224], ['base', 16, 384], ['base', 32, 224], ['base', 32, 384],
  ['large', 16, 224], ['large', 16, 384], ['large', 32, 224], ['large', 32, 384],
  ['huge', 14, 224],
];

/** Named architecture presets: `vit_{size}_patch{P}_{res}` → config. */
export const presets: Readonly<Record<string, ViTConfig>> = Object.fromEntries(
  presetGrid.map(([size, patch, res]) => {
    const s = sizes[size];
    // timm's H/14 is the headless ImageNet-21k feature extractor (630,764,800 parameters).
    const numClasses = size === 'huge' ? 0 : defaultConfig.numClasses;
    return [`vit_${size}_patch${patch}_${res}`, { ...defaultConfig, ...s, mlpDim: 4 * s.embedDim, patchSize: patch, imgSize: res, numClasses }];
  }),
);

/** Heads by the standard table from width (head dim 64, except Ti's 3 heads of 64 and the S/H entries). */
export function defaultHeads(embedDim: number): number {
  const known = Object.values(sizes).find((s) => s.embedDim === embedDim);
  if (known) return known.numHeads;
  return embedDim % 64 === 0 ? embedDim / 64 : 1;
}

/** The patch grid side for a resolution. */
export function gridSize(cfg: Pick<ViTConfig, 'imgSize' | 'patchSize'>): number {
  return cfg.imgSize / cfg.patchSize;
}

/** Looks up a preset by name, with overrides spread on top; unknown names list the known ones. */
export function preset(name: string, overrides: Partial<ViTConfig> = {}): ViTConfig {
  const base = presets[name];
  if (!base) {
    throw new UserError(`unknown arch '${name}' (expected one of: ${Object.keys(presets).join(', ')})`);
  }
  return checkConfig({ ...base, ...overrides });
}

/** Checks the invariants a graph relies on; returns the config unchanged. */
export function checkConfig(cfg: ViTConfig): ViTConfig {
  const bad = (msg: string): never => {
    throw new UserError(`invalid ViT config: ${msg}`);
  };
  if (cfg.imgSize % cfg.patchSize !== 0) bad(`imgSize ${cfg.imgSize} is not a multiple of patchSize ${cfg.patchSize}`);
  if (cfg.embedDim % cfg.numHeads !== 0) bad(`embedDim ${cfg.embedDim} is not divisible by numHeads ${cfg.numHeads}`);
  if (cfg.pool === 'token' && !cfg.classToken) bad(`pool 'token' needs classToken: true (or use pool 'avg')`);
  if (cfg.pool !== 'token' && cfg.pool !== 'avg') bad(`unknown pool '${cfg.pool}' (expected token|avg)`);
  for (const k of ['imgSize', 'patchSize', 'inChans', 'embedDim', 'depth', 'numHeads', 'mlpDim'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) bad(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  return cfg;
}
