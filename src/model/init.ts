// Seeded parameter initialisation for training from scratch, following timm's VisionTransformer defaults.
import { type StateDict, type Tensor, numel } from '../graph/tensor.ts';
import { Rng } from '../rng.ts';
import type { ViTConfig } from './config.ts';
import { parameterShapes } from './params.ts';

export interface InitOptions {
  /** Seed of the generator (default 0); ignored when `rng` is given. */
  readonly seed?: number;
  /** A generator to draw from (its state advances), e.g. to continue a run's stream. */
  readonly rng?: Rng;
  /** Zero the classifier head (weight and bias), as for fine-tuning on a new label set. */
  readonly zeroHead?: boolean;
  /**
   * The patch projection: 'pytorch' (default), the Conv2d initialisation timm leaves in place (kaiming-uniform
   * a=√5: weight and bias U(±1/√fan_in)), or 'trunc-normal' (std .02, like every Linear). With few input
   * channels (fan_in 16 for 4×4 grayscale patches) PyTorch's is 7× larger, and small ViTs learn faster from it.
   */
  readonly patchEmbed?: 'trunc-normal' | 'pytorch';
}

/**
 * Normal(mean, std) truncated to [a, b] by rejection. As timm's `trunc_normal_`, the bounds are absolute
 * values (default ±2), not multiples of std: at std .02 that is ±100σ, so in practice a plain normal.
 */
export function truncNormal(rng: Rng, std: number, mean = 0, a = -2, b = 2): number {
  if (!(a < b)) throw new Error(`truncNormal: empty interval [${a}, ${b}]`);
  for (;;) {
    const x = rng.normal(mean, std);
    if (x >= a && x <= b) return x;
  }
}

type Rule = (rng: Rng, shape: readonly number[]) => Float32Array;

const fill = (f: (rng: Rng) => number): Rule => (rng, shape) => {
  const out = new Float32Array(numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = f(rng);
  return out;
};
const constant = (v: number): Rule => (_rng, shape) => new Float32Array(numel(shape)).fill(v);
const truncStd02 = fill((rng) => truncNormal(rng, 0.02));

/**
 * A hybrid's ResNetV2, as timm's ResNetV2 initialises it: convolutions kaiming-normal (fan-out, ReLU gain), GroupNorm
 * ones/zeros, except each bottleneck's last GroupNorm scale starts at zero (zero_init_last: blocks start as identities).
 */
function backboneRule(name: string): Rule {
  if (name.endsWith('.norm3.weight')) return constant(0);
  if (/\.norm\d?\.weight$/.test(name)) return constant(1);
  if (name.endsWith('.bias')) return constant(0);
  return (rng, shape) => {
    const std = Math.sqrt(2 / (shape[0]! * shape[2]! * shape[3]!));
    return fill((r) => r.normal(0, std))(rng, shape);
  };
}

/** How each parameter starts (timm `init_weights` mode '' plus `init_weights_vit_timm`). */
function ruleFor(name: string, cfg: ViTConfig, opts: InitOptions): Rule {
  if (name === 'cls_token' || name === 'dist_token' || name === 'reg_token') return fill((rng) => rng.normal(0, 1e-6));
  if (name === 'attn_pool.latent') return fill((rng) => truncNormal(rng, cfg.embedDim ** -0.5));
  // Layer scale starts near zero, each block near the identity (timm init_values, DINOv2's 1e-5).
  if (name.endsWith('.gamma')) return constant(1e-5);
  if (/\.(q_bias|v_bias|relative_position_bias_table)$/.test(name)) return constant(0); // timm's Beit
  if (name === 'pos_embed') return truncStd02;
  if (/^head(_dist)?\./.test(name) && opts.zeroHead) return constant(0);
  if (name.startsWith('patch_embed.proj.') && (opts.patchEmbed ?? 'pytorch') === 'pytorch') {
    const [, c, p, q] = parameterShapes(cfg).get('patch_embed.proj.weight')!;
    const bound = 1 / Math.sqrt(c! * p! * q!);
    return fill((rng) => (2 * rng.uniform() - 1) * bound);
  }
  if (name.startsWith('patch_embed.backbone.')) return backboneRule(name);
  const isNorm = /(^|\.)(norm\d*|fc_norm|norm_pre)\.weight$/.test(name);
  if (isNorm) return constant(1);
  if (name.endsWith('.bias')) return constant(0);
  if (name.endsWith('.weight')) return truncStd02;
  throw new Error(`init: no rule for parameter '${name}'`);
}

/**
 * Fresh parameters for a config, in `parameterShapes` order, drawn from one seeded stream in that order:
 * trunc-normal(.02) for Linear weights and `pos_embed`, PyTorch's Conv2d default for the patch projection,
 * normal(1e-6) for `cls_token`, zero biases, LayerNorm ones/zeros, head trunc-normal(.02) or zero (`zeroHead`);
 * a hybrid's backbone as timm's ResNetV2 (see backboneRule).
 */
export function initParameters(cfg: ViTConfig, opts: InitOptions = {}): StateDict {
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const out: StateDict = new Map();
  for (const [name, shape] of parameterShapes(cfg)) {
    const t: Tensor<'float32'> = { dtype: 'float32', shape, data: ruleFor(name, cfg, opts)(rng, shape) };
    out.set(name, t);
  }
  return out;
}
