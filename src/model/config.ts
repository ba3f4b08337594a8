// ViT architecture configuration: a plain readonly object, presets from the paper's Table 1 named as in timm.
import { UserError } from '../errors.ts';
import { GROUPS, type ResNetV2Config, featureChannels, featureSize, midChannels } from './resnet-v2.ts';

export type { ResNetV2Config } from './resnet-v2.ts';

/**
 * How the tokens become one feature vector: the class token ('token'), the mean of patch tokens with timm's
 * `fc_norm` ('avg'), attention pooling with a learned probe then an MLP (SigLIP's MAP head, timm `attn_pool`), or
 * the class token beside the mean of the normalised patch tokens, 2·D wide (transformers' DINOv2 classifier).
 */
export type Pool = 'token' | 'avg' | 'map' | 'token_avg';

/**
 * Each block's MLP: x → fc2(act(fc1(x))) with GELU ('gelu', erf form; 'gelu_tanh', its tanh approximation as in
 * SigLIP) or QuickGELU x·σ(1.702x) (OpenAI CLIP), or SwiGLU (DINOv2 giant): fc1 packs two halves a, b and
 * fc2 reads silu(a)·b (timm's SwiGLUPacked).
 */
export type MlpKind = 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'swiglu';

/**
 * How position embeddings (and BEiT's relative position bias tables) are resampled to run at another resolution,
 * after the ecosystem the checkpoint comes from, so that vitkit gives what it would: 'timm' (antialiased bicubic;
 * BEiT's tables on timm's geometric offsets) or 'transformers' (`interpolate_pos_encoding`: bicubic without
 * antialiasing; BEiT's tables bilinear). transformers' Dinov2WithRegisters resamples as timm does (antialiased).
 */
export type PosResample = 'timm' | 'transformers';

export interface ViTConfig {
  /** Input resolution (square) the position embeddings are laid out for. */
  readonly imgSize: number;
  /**
   * Side of the square patches; the token grid is imgSize / patchSize per side. For a hybrid, the kernel and
   * stride of the projection conv on the backbone's feature map (1 in timm's r26/r50 hybrids).
   */
  readonly patchSize: number;
  /** Image channels (3 for RGB, 1 for grayscale data such as MNIST). */
  readonly inChans: number;
  /** Token width D. */
  readonly embedDim: number;
  /** Number of Transformer encoder blocks; 0 only for a hybrid, which is then its ResNet with a linear head. */
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
  // The switches below turn the paper's ViT into its descendants (see DESIGN.md, "Families"); absent means the
  // paper's choice, so configs written before them still read.
  /** DeiT's distillation token after the class token, read by a second head `head_dist`; logits are the heads' mean. */
  readonly distToken?: boolean;
  /** Learned register tokens after the class (and distillation) token (DINOv2 with registers). Default 0. */
  readonly regTokens?: number;
  /** Position embeddings cover the patches only; prefix tokens join after they are added (timm `no_embed_class`). */
  readonly noEmbedClass?: boolean;
  /** Learned per-channel scales on both residual branches, `ls1.gamma` and `ls2.gamma` (DINOv2's layer scale). */
  readonly layerScale?: boolean;
  /** A LayerNorm on the tokens before the first block, `norm_pre` (CLIP's ln_pre). */
  readonly preNorm?: boolean;
  /** Whether the patch projection has a bias (default true; CLIP's has none). */
  readonly patchBias?: boolean;
  /** The blocks' MLP (default 'gelu'). */
  readonly mlp?: MlpKind;
  /**
   * The head projects into a joint image–text space (CLIP's visual projection, timm's `head`): its output, CLIP's
   * `image_embeds`, is the model's embedding (what `embed`, `fewshot`, `knn` read) rather than class scores.
   */
  readonly projectionHead?: boolean;
  /** Absolute position embeddings `pos_embed` (default true; BEiT has none, only relative position bias). */
  readonly absPosEmbed?: boolean;
  /** A learned relative position bias table per block, `attn.relative_position_bias_table`, added to the scores (BEiT). */
  readonly relPosBias?: boolean;
  /** Biases on q and v only, `attn.q_bias` and `attn.v_bias` (BEiT; a k bias shifts each query's scores equally). */
  readonly qvBias?: boolean;
  /** The resampling rule of atResolution (default 'timm'); Hugging Face checkpoints load with transformers'. */
  readonly posResample?: PosResample;
  /** The hybrid's CNN (the paper's §3.1): tokens come from its feature map instead of image patches. Absent: patches. */
  readonly backbone?: ResNetV2Config;
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

/** The paper's plain ViTs: `vit_{size}_patch{P}_{res}` → config. */
const plainPresets: Readonly<Record<string, ViTConfig>> = Object.fromEntries(
  presetGrid.map(([size, patch, res]) => {
    const s = sizes[size];
    // timm's H/14 is the headless ImageNet-21k feature extractor (630,764,800 parameters).
    const numClasses = size === 'huge' ? 0 : defaultConfig.numClasses;
    return [`vit_${size}_patch${patch}_${res}`, { ...defaultConfig, ...s, mlpDim: 4 * s.embedDim, patchSize: patch, imgSize: res, numClasses }];
  }),
);

/** BiT's ResNetV2 (stem 64, stage widths 256·2ⁱ) with `layers` blocks per stage; [] for the stem alone. */
const bit = (layers: readonly number[]): ResNetV2Config => ({ stemChs: 64, layers, channels: [256, 512, 1024, 2048].slice(0, layers.length) });

/** timm's hybrid ViTs: [name, size, backbone, projection patch, resolution, classes]. */
const hybridGrid: ReadonlyArray<[string, Size, ResNetV2Config, number, number, number]> = [
  ['vit_tiny_r_s16_p8_224', 'tiny', bit([]), 8, 224, 1000],
  ['vit_tiny_r_s16_p8_384', 'tiny', bit([]), 8, 384, 1000],
  ['vit_small_r26_s32_224', 'small', bit([2, 2, 2, 2]), 1, 224, 1000],
  ['vit_small_r26_s32_384', 'small', bit([2, 2, 2, 2]), 1, 384, 1000],
  // timm's B/16 hybrid at 224 is the headless ImageNet-21k feature extractor.
  ['vit_base_r50_s16_224', 'base', bit([3, 4, 9]), 1, 224, 0],
  ['vit_base_r50_s16_384', 'base', bit([3, 4, 9]), 1, 384, 1000],
  ['vit_large_r50_s32_224', 'large', bit([3, 4, 6, 3]), 1, 224, 1000],
  ['vit_large_r50_s32_384', 'large', bit([3, 4, 6, 3]), 1, 384, 1000],
];

/**
 * vitkit's own small hybrid for 32-pixel data (CIFAR): a 32-channel stem and one 128-channel bottleneck stage give an
 * 8×8 map of 128 channels, projected 1×1 to 64 tokens of a Ti-sized encoder (D 192, depth 6, 3 heads).
 */
const cifarHybrid: ViTConfig = {
  ...defaultConfig, imgSize: 32, patchSize: 1, embedDim: 192, depth: 6, numHeads: 3, mlpDim: 768, numClasses: 10,
  backbone: { stemChs: 32, layers: [1], channels: [128] },
};

/** A ViT of a table size with the paper's 4·D MLP, then a family's switches. */
const family = (size: Size | 'giant', patchSize: number, imgSize: number, numClasses: number, rest: Partial<ViTConfig>): ViTConfig => {
  const s = size === 'giant' ? { embedDim: 1536, depth: 40, numHeads: 24 } : sizes[size];
  return { ...defaultConfig, ...s, mlpDim: 4 * s.embedDim, patchSize, imgSize, numClasses, ...rest };
};
const dinov2 = { layerScale: true } as const;
const reg4 = { layerScale: true, regTokens: 4, noEmbedClass: true } as const;
// DINOv2-G's SwiGLU: fc1 packs two 4096-wide halves (timm's mlp_ratio 2.66667·2).
const giant = { mlp: 'swiglu', mlpDim: 8192 } as const;
// timm's `*_clip_*` towers run GELU; `*_clip_quickgelu_*` the QuickGELU OpenAI trained with (same parameters).
const clip = { preNorm: true, patchBias: false, layerNormEps: 1e-5 } as const;
const quick = { ...clip, mlp: 'quick_gelu' } as const;

/** The families' timm presets (headless where timm's are; CLIP's head is its projection to the joint embedding). */
const familyPresets: Readonly<Record<string, ViTConfig>> = {
  vit_small_patch14_dinov2: family('small', 14, 518, 0, dinov2),
  vit_base_patch14_dinov2: family('base', 14, 518, 0, dinov2),
  vit_large_patch14_dinov2: family('large', 14, 518, 0, dinov2),
  vit_giant_patch14_dinov2: family('giant', 14, 518, 0, { ...dinov2, ...giant }),
  vit_small_patch14_reg4_dinov2: family('small', 14, 518, 0, reg4),
  vit_base_patch14_reg4_dinov2: family('base', 14, 518, 0, reg4),
  vit_large_patch14_reg4_dinov2: family('large', 14, 518, 0, reg4),
  vit_giant_patch14_reg4_dinov2: family('giant', 14, 518, 0, { ...reg4, ...giant }),
  deit_tiny_distilled_patch16_224: family('tiny', 16, 224, 1000, { distToken: true }),
  deit_small_distilled_patch16_224: family('small', 16, 224, 1000, { distToken: true }),
  deit_base_distilled_patch16_224: family('base', 16, 224, 1000, { distToken: true }),
  vit_base_patch32_clip_224: family('base', 32, 224, 512, clip),
  vit_base_patch16_clip_224: family('base', 16, 224, 512, clip),
  vit_large_patch14_clip_224: family('large', 14, 224, 768, clip),
  vit_base_patch32_clip_quickgelu_224: family('base', 32, 224, 512, quick),
  vit_base_patch16_clip_quickgelu_224: family('base', 16, 224, 512, quick),
  vit_large_patch14_clip_quickgelu_224: family('large', 14, 224, 768, quick),
  vit_base_patch16_siglip_224: family('base', 16, 224, 0, { classToken: false, pool: 'map' }),
  beit_base_patch16_224: family('base', 16, 224, 1000, {
    pool: 'avg', layerScale: true, absPosEmbed: false, relPosBias: true, qkvBias: false, qvBias: true,
  }),
};

/** Named architecture presets: the paper's ViTs, timm's hybrids (`vit_{size}_r…`), vit_hybrid_cifar and the families. */
export const presets: Readonly<Record<string, ViTConfig>> = {
  ...plainPresets,
  ...familyPresets,
  ...Object.fromEntries(hybridGrid.map(([name, size, backbone, patch, res, numClasses]) => {
    const s = sizes[size];
    return [name, { ...defaultConfig, ...s, mlpDim: 4 * s.embedDim, patchSize: patch, imgSize: res, numClasses, backbone }];
  })),
  vit_hybrid_cifar: cifarHybrid,
};

/** The output that is a model's embedding: the pooled features, or a CLIP head's projection of them. */
export function embeddingOutput(cfg: Pick<ViTConfig, 'projectionHead' | 'numClasses'>): 'pooled' | 'logits' {
  return cfg.projectionHead && cfg.numClasses > 0 ? 'logits' : 'pooled';
}

/** Width of the pooled features the head reads: D, or 2·D for 'token_avg'. */
export function pooledDim(cfg: Pick<ViTConfig, 'embedDim' | 'pool'>): number {
  return cfg.pool === 'token_avg' ? 2 * cfg.embedDim : cfg.embedDim;
}

/** Tokens before the patches: class, distillation and register tokens. */
export function prefixTokens(cfg: Pick<ViTConfig, 'classToken' | 'distToken' | 'regTokens'>): number {
  return (cfg.classToken ? 1 : 0) + (cfg.distToken ? 1 : 0) + (cfg.regTokens ?? 0);
}

/** Tokens per image in the encoder: the prefix (class, distillation, registers) and the patches. */
export function tokenCount(cfg: Pick<ViTConfig, 'classToken' | 'distToken' | 'regTokens' | 'imgSize' | 'patchSize' | 'backbone'>): number {
  return prefixTokens(cfg) + gridSize(cfg) ** 2;
}

/** Prefix tokens that have an entry in `pos_embed` (none with `noEmbedClass`). */
export function embeddedPrefix(cfg: Pick<ViTConfig, 'classToken' | 'distToken' | 'regTokens' | 'noEmbedClass'>): number {
  return cfg.noEmbedClass ? 0 : prefixTokens(cfg);
}

/**
 * The family a config's switches make (its nearest descendant of the paper's ViT) and those switches in words,
 * e.g. `DINOv2 (layer scale, 4 registers, position embeddings on patches only)`.
 */
export function describeFamily(cfg: ViTConfig): string {
  const name = cfg.distToken ? 'DeiT' : cfg.pool === 'map' ? 'SigLIP' : cfg.preNorm ? 'CLIP'
    : cfg.relPosBias ? 'BEiT' : cfg.layerScale ? 'DINOv2' : 'ViT';
  const switches = [
    cfg.distToken && 'distillation token and head',
    cfg.layerScale && 'layer scale',
    cfg.regTokens && `${cfg.regTokens} registers`,
    cfg.noEmbedClass && prefixTokens(cfg) > 0 && 'position embeddings on patches only',
    cfg.preNorm && 'pre-norm',
    cfg.patchBias === false && 'no patch bias',
    cfg.mlp && cfg.mlp !== 'gelu' && `${cfg.mlp} MLP`,
    cfg.pool === 'map' && 'MAP head',
    cfg.relPosBias && 'relative position bias',
    cfg.absPosEmbed === false && 'no absolute position embeddings',
    cfg.qvBias && 'q/v biases',
  ].filter((s): s is string => typeof s === 'string');
  return switches.length ? `${name} (${switches.join(', ')})` : name;
}

/** Heads by the standard table from width (head dim 64, except Ti's 3 heads of 64 and the S/H entries). */
export function defaultHeads(embedDim: number): number {
  const known = Object.values(sizes).find((s) => s.embedDim === embedDim);
  if (known) return known.numHeads;
  return embedDim % 64 === 0 ? embedDim / 64 : 1;
}

/** The token grid side for a resolution: image patches, or projection cells of a hybrid's feature map. */
export function gridSize(cfg: Pick<ViTConfig, 'imgSize' | 'patchSize' | 'backbone'>): number {
  return cfg.backbone ? Math.floor(featureSize(cfg.backbone, cfg.imgSize) / cfg.patchSize) : cfg.imgSize / cfg.patchSize;
}

/** Pixels per token side: the patch size, times the backbone's stride for a hybrid (rounded up at odd sizes). */
export function tokenStride(cfg: Pick<ViTConfig, 'imgSize' | 'patchSize' | 'backbone'>): number {
  return cfg.imgSize / gridSize(cfg);
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
  if (cfg.backbone) checkBackbone(cfg, bad);
  else if (cfg.imgSize % cfg.patchSize !== 0) bad(`imgSize ${cfg.imgSize} is not a multiple of patchSize ${cfg.patchSize}`);
  if (cfg.embedDim % cfg.numHeads !== 0) bad(`embedDim ${cfg.embedDim} is not divisible by numHeads ${cfg.numHeads}`);
  if (cfg.pool === 'token' && !cfg.classToken) bad(`pool 'token' needs classToken: true (or use pool 'avg')`);
  if (!['token', 'avg', 'map', 'token_avg'].includes(cfg.pool)) bad(`unknown pool '${cfg.pool}' (expected token|avg|map|token_avg)`);
  if (cfg.pool === 'token_avg' && !cfg.classToken) bad(`pool 'token_avg' needs classToken: true`);
  if (cfg.mlp !== undefined && !['gelu', 'gelu_tanh', 'quick_gelu', 'swiglu'].includes(cfg.mlp)) {
    bad(`unknown mlp '${cfg.mlp}' (expected gelu|gelu_tanh|quick_gelu|swiglu)`);
  }
  if (cfg.posResample !== undefined && !['timm', 'transformers'].includes(cfg.posResample)) {
    bad(`unknown posResample '${cfg.posResample}' (expected timm|transformers)`);
  }
  if (cfg.mlp === 'swiglu' && cfg.mlpDim % 2 !== 0) bad(`a SwiGLU MLP packs two halves: mlpDim ${cfg.mlpDim} must be even`);
  if (cfg.distToken && !cfg.classToken) bad('a distillation token needs the class token');
  if (cfg.relPosBias && (!cfg.classToken || cfg.distToken || cfg.regTokens || cfg.backbone)) {
    bad('relative position bias covers a class token and a patch grid only');
  }
  if (cfg.qvBias && cfg.qkvBias) bad('qvBias replaces qkvBias: set qkvBias false');
  const regs = cfg.regTokens ?? 0;
  if (!Number.isInteger(regs) || regs < 0) bad(`regTokens must be a non-negative integer, got ${regs}`);
  for (const k of ['imgSize', 'patchSize', 'inChans', 'embedDim', 'numHeads', 'mlpDim'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) bad(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!Number.isInteger(cfg.depth) || cfg.depth < (cfg.backbone ? 0 : 1)) {
    bad(
      `depth must be a ${cfg.backbone ? 'non-negative' : 'positive'} integer, got ${cfg.depth}` +
        `${cfg.backbone ? '' : ' (depth 0 needs a backbone)'}`,
    );
  }
  return cfg;
}

function checkBackbone(cfg: ViTConfig, bad: (msg: string) => never): void {
  const bb = cfg.backbone!;
  if (bb.layers.length !== bb.channels.length) bad(`backbone has ${bb.layers.length} stages but ${bb.channels.length} channel widths`);
  const widths = [bb.stemChs, ...bb.channels, ...bb.channels.map(midChannels)];
  const odd = widths.find((c) => !Number.isInteger(c) || c <= 0 || c % GROUPS !== 0);
  if (odd !== undefined) bad(`backbone width ${odd} does not split into GroupNorm's ${GROUPS} groups`);
  if (bb.layers.some((n) => !Number.isInteger(n) || n < 1)) bad(`backbone stages need at least one block each, got [${bb.layers.join(', ')}]`);
  const f = featureSize(bb, cfg.imgSize);
  if (f < cfg.patchSize) {
    bad(`${cfg.imgSize} px gives a ${f}×${f} feature map of ${featureChannels(bb)} channels, smaller than the ${cfg.patchSize}-cell projection`);
  }
}
