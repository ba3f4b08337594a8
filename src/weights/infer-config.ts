// ViTConfig from the shapes of canonical (timm-named) tensors, and the check that tensors fit a config.
// What shapes cannot tell (heads, LayerNorm epsilon) comes from hints a format records, else from defaults.
import type { StateDict } from '../graph/tensor.ts';
import { formatShape } from '../graph/tensor.ts';
import { type ViTConfig, checkConfig, defaultHeads } from '../model/config.ts';
import { UserError } from '../errors.ts';

/** LayerNorm epsilon when nothing says otherwise: timm's and JAX's ViTs use 1e-6. */
export const defaultLayerNormEps = 1e-6;

/**
 * Infers the architecture from tensor shapes. `hints` are what the checkpoint records (HF config.json, the
 * npz head axis, vitkit metadata); `overrides` (CLI flags) win over both hints and shapes, and checkWeights then
 * reports any disagreement. `file` names the checkpoint in errors.
 */
export function inferConfig(sd: StateDict, file: string, hints: Partial<ViTConfig> = {}, overrides: Partial<ViTConfig> = {}): ViTConfig {
  const shape = (name: string) => {
    const t = sd.get(name);
    if (!t) throw new UserError(`${file} is not a ViT checkpoint: tensor '${name}' is missing (found ${[...sd.keys()].slice(0, 5).join(', ')}${sd.size > 5 ? ', …' : ''})`);
    return t.shape;
  };
  const [embedDim, inChans, patchH, patchW] = shape('patch_embed.proj.weight');
  if (patchH !== patchW) throw new UserError(`${file}: patch_embed.proj.weight has shape ${formatShape(shape('patch_embed.proj.weight'))}; vitkit needs square patches`);
  const classToken = sd.has('cls_token');
  const tokens = shape('pos_embed')[1]! - (classToken ? 1 : 0);
  const grid = Math.round(Math.sqrt(tokens));
  if (grid * grid !== tokens) {
    throw new UserError(`${file}: pos_embed has shape ${formatShape(shape('pos_embed'))}, ${tokens} patch tokens, which is not a square grid`);
  }
  let depth = 0;
  while (sd.has(`blocks.${depth}.norm1.weight`)) depth++;
  if (depth === 0) shape('blocks.0.norm1.weight');
  const inferred: ViTConfig = {
    imgSize: grid * patchH!,
    patchSize: patchH!,
    inChans: inChans!,
    embedDim: embedDim!,
    depth,
    numHeads: hints.numHeads ?? defaultHeads(embedDim!),
    mlpDim: shape('blocks.0.mlp.fc1.weight')[0]!,
    numClasses: sd.get('head.weight')?.shape[0] ?? 0,
    classToken,
    pool: sd.has('fc_norm.weight') || !classToken ? 'avg' : 'token',
    layerNormEps: hints.layerNormEps ?? defaultLayerNormEps,
    qkvBias: sd.has('blocks.0.attn.qkv.bias'),
    preLogitsDim: sd.get('pre_logits.fc.weight')?.shape[0] ?? 0,
  };
  return checkConfig({ ...inferred, ...overrides });
}

/** Every canonical tensor a config implies, with its shape, in timm's state-dict order. */
export function expectedShapes(cfg: ViTConfig): Map<string, number[]> {
  const { embedDim: D, patchSize: P, inChans: C, mlpDim: M, numClasses: K, preLogitsDim: R } = cfg;
  const tokens = (cfg.imgSize / P) ** 2 + (cfg.classToken ? 1 : 0);
  const out = new Map<string, number[]>();
  const linear = (name: string, outDim: number, inDim: number, bias = true) => {
    out.set(`${name}.weight`, [outDim, inDim]);
    if (bias) out.set(`${name}.bias`, [outDim]);
  };
  const norm = (name: string) => {
    out.set(`${name}.weight`, [D]);
    out.set(`${name}.bias`, [D]);
  };
  if (cfg.classToken) out.set('cls_token', [1, 1, D]);
  out.set('pos_embed', [1, tokens, D]);
  out.set('patch_embed.proj.weight', [D, C, P, P]);
  out.set('patch_embed.proj.bias', [D]);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}.`;
    norm(`${b}norm1`);
    linear(`${b}attn.qkv`, 3 * D, D, cfg.qkvBias);
    linear(`${b}attn.proj`, D, D);
    norm(`${b}norm2`);
    linear(`${b}mlp.fc1`, M, D);
    linear(`${b}mlp.fc2`, D, M);
  }
  norm(cfg.pool === 'avg' ? 'fc_norm' : 'norm');
  if (R > 0) linear('pre_logits.fc', R, D);
  if (K > 0) linear('head', K, R > 0 ? R : D);
  return out;
}

/**
 * Checks that `sd` holds exactly the tensors `cfg` implies, each with its expected shape. The UserError names
 * the file, each offending tensor, its shape and the expected one (missing and unexpected tensors too).
 */
export function checkWeights(cfg: ViTConfig, sd: StateDict, file: string): void {
  const expected = expectedShapes(cfg);
  const problems: string[] = [];
  for (const [name, want] of expected) {
    const t = sd.get(name);
    if (!t) problems.push(`'${name}' is missing (expected ${formatShape(want)})`);
    else if (formatShape(t.shape) !== formatShape(want)) problems.push(`'${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(want)}`);
    else if (t.dtype !== 'float32') problems.push(`'${name}' is ${t.dtype}, expected float32`);
  }
  const extra = [...sd.keys()].filter((k) => !expected.has(k));
  if (extra.length) problems.push(`unexpected tensors ${extra.slice(0, 5).map((k) => `'${k}'`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 4).join('; ') + (problems.length > 4 ? `; and ${problems.length - 4} more problems` : '');
  throw new UserError(`${file} does not fit the ViT config (D ${cfg.embedDim}, depth ${cfg.depth}, patch ${cfg.patchSize}, ${cfg.imgSize} px, ${cfg.numClasses} classes): ${shown}. Check the flags/overrides or the file`);
}
