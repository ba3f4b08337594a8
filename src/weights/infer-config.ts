// ViTConfig from the shapes of canonical (timm-named) tensors, and the check that tensors fit a config.
// What shapes cannot tell (heads, LayerNorm epsilon) comes from hints a format records, else from defaults.
import { parameterShapes } from '../model/params.ts';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { formatShape } from '../graph/tensor.ts';
import { type ViTConfig, checkConfig, defaultHeads, gridSize, prefixTokens } from '../model/config.ts';
import { UserError, shown } from '../errors.ts';
import { SCALE_SUFFIX, isQuantized, quantizationProblems } from '../model/int8.ts';
import { backboneStride } from '../model/resnet-v2.ts';
import { tableGrid } from '../model/rel-pos-bias.ts';
import { inferBackbone } from './infer-backbone.ts';

/** LayerNorm epsilon when nothing says otherwise: timm's and JAX's ViTs use 1e-6. */
export const defaultLayerNormEps = 1e-6;

/**
 * Infers the architecture from tensor shapes. `hints` (what the checkpoint records: HF config.json, the npz head
 * axis, vitkit metadata) supply what shapes cannot tell, numHeads, layerNormEps, the resampling rule; `overrides` (CLI flags) win
 * over hints and shapes alike, and checkWeights then reports any disagreement. `file` names the checkpoint in errors.
 */
export function inferConfig(sd: StateDict, file: string, hints: Partial<ViTConfig> = {}, overrides: Partial<ViTConfig> = {}): ViTConfig {
  const eps = hints.layerNormEps;
  if (eps !== undefined && !(typeof eps === 'number' && eps > 0 && eps < 1)) {
    throw new UserError(`${file} records LayerNorm epsilon ${shown(eps)} (expected a small positive number such as 1e-6): fix or re-export it`);
  }
  const shape = (name: string) => {
    const t = sd.get(name);
    if (!t) {
      throw new UserError(
        `${file} is not a ViT checkpoint: tensor '${name}' is missing (found ${[...sd.keys()].slice(0, 5).join(', ')}${sd.size > 5 ? ', …' : ''})`,
      );
    }
    return t.shape;
  };
  const [embedDim, inChans, patchH, patchW] = shape('patch_embed.proj.weight');
  if (patchH !== patchW) {
    throw new UserError(`${file}: patch_embed.proj.weight has shape ${formatShape(shape('patch_embed.proj.weight'))}; vitkit needs square patches`);
  }
  const table = sd.get('blocks.0.attn.relative_position_bias_table');
  const tokenLayout = !sd.has('pos_embed') && table ? relativeTokens(sd, file, table.shape) : inferTokens(sd, file, shape('pos_embed'));
  const { grid, classToken } = tokenLayout;
  let depth = 0;
  while (sd.has(`blocks.${depth}.norm1.weight`)) depth++;
  // A hybrid's projection reads the backbone's feature map: image size and channels come from the backbone. Its
  // 'SAME' layers round sizes up, so several sizes give one grid: the size a checkpoint records wins if it fits.
  const hybrid = inferBackbone(sd, file);
  // Without blocks only a hybrid is a model (its ResNet with a linear head); the MLP width then means nothing.
  if (depth === 0 && !hybrid) shape('blocks.0.norm1.weight');
  const fits = (s: number | undefined) => hybrid && s && gridSize({ imgSize: s, patchSize: patchH!, backbone: hybrid.backbone }) === grid;
  const inferred: ViTConfig = {
    imgSize: fits(hints.imgSize) ? hints.imgSize! : grid * patchH! * (hybrid ? backboneStride(hybrid.backbone) : 1),
    patchSize: patchH!,
    inChans: hybrid ? hybrid.inChans : inChans!,
    embedDim: embedDim!,
    depth,
    numHeads: hints.numHeads ?? table?.shape[1] ?? defaultHeads(embedDim!),
    mlpDim: depth ? shape('blocks.0.mlp.fc1.weight')[0]! : (hints.mlpDim ?? 4 * embedDim!),
    numClasses: sd.get('head.weight')?.shape[0] ?? 0,
    classToken,
    pool: sd.has('fc_norm.weight') ? 'avg' : sd.has('attn_pool.latent') ? 'map' : !classToken ? 'avg'
      : sd.get('head.weight')?.shape[1] === 2 * embedDim! && !sd.has('pre_logits.fc.weight') ? 'token_avg' : 'token',
    layerNormEps: hints.layerNormEps ?? defaultLayerNormEps,
    qkvBias: depth ? sd.has('blocks.0.attn.qkv.bias') : (hints.qkvBias ?? true),
    preLogitsDim: sd.get('pre_logits.fc.weight')?.shape[0] ?? 0,
    ...(hybrid ? { backbone: hybrid.backbone } : {}),
    ...familySwitches(sd, depth, hints),
    ...tokenLayout.switches,
    ...(hints.posResample ? { posResample: hints.posResample } : {}), // the checkpoint's ecosystem (config.ts)
  };
  try {
    return checkConfig({ ...inferred, ...overrides });
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${file}: ${e.message}`) : e;
  }
}

/** Prefix tokens and whether `pos_embed` [1, T, D] covers them: T is prefix + g² (timm's default) or g² alone. */
function inferTokens(sd: StateDict, file: string, pos: readonly number[]): { grid: number; classToken: boolean; switches: Partial<ViTConfig> } {
  const classToken = sd.has('cls_token');
  const switches = {
    ...(sd.has('dist_token') ? { distToken: true } : {}),
    ...(sd.has('reg_token') ? { regTokens: sd.get('reg_token')!.shape[1]! } : {}),
  };
  const prefix = prefixTokens({ classToken, ...switches });
  const square = (n: number) => n >= 0 && Math.round(Math.sqrt(n)) ** 2 === n;
  const covered = square(pos[1]! - prefix);
  if (!covered && !square(pos[1]!)) {
    const after = prefix ? ` after ${prefix} prefix token${prefix > 1 ? 's' : ''} (or ${pos[1]} without)` : '';
    throw new UserError(`${file}: pos_embed has shape ${formatShape(pos)}, ${pos[1]! - prefix} patch tokens${after}, which is not a square grid`);
  }
  const patches = covered ? pos[1]! - prefix : pos[1]!;
  return { grid: Math.round(Math.sqrt(patches)), classToken, switches: { ...switches, ...(!covered ? { noEmbedClass: true } : {}) } };
}

/** BEiT: no absolute position embeddings; the grid comes from the relative position bias table's rows. */
function relativeTokens(sd: StateDict, file: string, table: readonly number[]): { grid: number; classToken: boolean; switches: Partial<ViTConfig> } {
  const grid = tableGrid(table[0]!);
  if (table.length !== 2 || Number.isNaN(grid)) {
    throw new UserError(
      `${file}: blocks.0.attn.relative_position_bias_table has shape ${formatShape(table)}, expected [(2g−1)² + 3, heads] for a g×g grid`,
    );
  }
  return { grid, classToken: sd.has('cls_token'), switches: { absPosEmbed: false, relPosBias: true } };
}

/** The family switches that tensor names and shapes tell (see config.ts); the MLP's activation comes from hints. */
function familySwitches(sd: StateDict, depth: number, hints: Partial<ViTConfig>): Partial<ViTConfig> {
  const fc1 = sd.get('blocks.0.mlp.fc1.weight')?.shape;
  const fc2 = sd.get('blocks.0.mlp.fc2.weight')?.shape;
  const swiglu = depth > 0 && fc1 && fc2 && fc2[1]! * 2 === fc1[0]!;
  const mlp = swiglu ? 'swiglu' : hints.mlp;
  return {
    ...(sd.has('blocks.0.ls1.gamma') ? { layerScale: true } : {}),
    ...(sd.has('norm_pre.weight') ? { preNorm: true } : {}),
    ...(sd.has('blocks.0.attn.q_bias') ? { qvBias: true } : {}),
    ...(sd.has('patch_embed.proj.weight') && !sd.has('patch_embed.proj.bias') ? { patchBias: false } : {}),
    ...(mlp && mlp !== 'gelu' ? { mlp } : {}),
    ...(hints.projectionHead || (sd.has('norm_pre.weight') && isZero(sd.get('head.bias'))) ? { projectionHead: true } : {}),
  };
}

/**
 * Whether a tensor is all zeros: timm converts CLIP's bias-free visual projection to a head with a zero bias, which
 * tells it from a classifier fine-tuned on top of a CLIP tower.
 */
function isZero(t: Tensor | undefined): boolean {
  return !!t && t.dtype === 'float32' && (t.data as Float32Array).every((v) => v === 0);
}

/**
 * Checks that `sd` holds exactly the tensors `cfg` implies, each with its expected shape. The UserError names
 * the file, each offending tensor, its shape and the expected one (missing and unexpected tensors too).
 * A quantized state dict (int8 linear weights, see model/int8.ts) must hold every linear weight in int8 with
 * its scale.
 */
export function checkWeights(cfg: ViTConfig, sd: StateDict, file: string): void {
  const expected = parameterShapes(cfg);
  const quantized = isQuantized(sd);
  const problems: string[] = quantized ? quantizationProblems(cfg, sd) : [];
  for (const [name, want] of expected) {
    const t = sd.get(name);
    if (!t) problems.push(`'${name}' is missing (expected ${formatShape(want)})`);
    else if (formatShape(t.shape) !== formatShape(want)) problems.push(`'${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(want)}`);
    else if (t.dtype !== 'float32' && !(quantized && t.dtype === 'int8')) problems.push(`'${name}' is ${t.dtype}, expected float32`);
  }
  const extra = [...sd.keys()].filter((k) => !expected.has(k) && !(quantized && k.endsWith(SCALE_SUFFIX)));
  if (extra.length) {
    problems.push(
      `unexpected tensors ${extra.slice(0, 5).map((k) => `'${k}'`).join(', ')}` +
        `${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`,
    );
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, 4).join('; ') + (problems.length > 4 ? `; and ${problems.length - 4} more problems` : '');
  throw new UserError(
    `${file} does not fit the ViT config (D ${cfg.embedDim}, depth ${cfg.depth}, patch ${cfg.patchSize}, ${cfg.imgSize} px, ` +
      `${cfg.numClasses} classes): ${shown}. Check the flags/overrides or the file`,
  );
}
