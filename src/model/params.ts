// The parameters of a ViT by canonical (timm) name, in timm's order, with their shapes.
import { type ViTConfig, embeddedPrefix, gridSize, pooledDim, prefixTokens } from './config.ts';
import { tableRows } from './rel-pos-bias.ts';
import { backboneFlops, backboneShapes, featureChannels } from './resnet-v2.ts';

/** Every parameter tensor a config implies, name → shape, in timm's state-dict order. */
export function parameterShapes(cfg: ViTConfig): Map<string, number[]> {
  const { embedDim: d, patchSize: p, inChans: c, mlpDim: m, numClasses: k, preLogitsDim: r } = cfg;
  const s = new Map<string, number[]>();
  if (cfg.classToken) s.set('cls_token', [1, 1, d]);
  if (cfg.distToken) s.set('dist_token', [1, 1, d]);
  if (cfg.regTokens) s.set('reg_token', [1, cfg.regTokens, d]);
  if (cfg.absPosEmbed ?? true) s.set('pos_embed', [1, gridSize(cfg) ** 2 + embeddedPrefix(cfg), d]);
  // A hybrid's projection reads the backbone's feature map instead of the image.
  for (const [name, shape] of cfg.backbone ? backboneShapes(cfg.backbone, c) : []) s.set(name, shape);
  s.set('patch_embed.proj.weight', [d, cfg.backbone ? featureChannels(cfg.backbone) : c, p, p]);
  if (cfg.patchBias ?? true) s.set('patch_embed.proj.bias', [d]);
  if (cfg.preNorm) {
    s.set('norm_pre.weight', [d]);
    s.set('norm_pre.bias', [d]);
  }
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    s.set(`${b}.norm1.weight`, [d]);
    s.set(`${b}.norm1.bias`, [d]);
    s.set(`${b}.attn.qkv.weight`, [3 * d, d]);
    if (cfg.qkvBias) s.set(`${b}.attn.qkv.bias`, [3 * d]);
    if (cfg.qvBias) {
      s.set(`${b}.attn.q_bias`, [d]);
      s.set(`${b}.attn.v_bias`, [d]);
    }
    if (cfg.relPosBias) s.set(`${b}.attn.relative_position_bias_table`, [tableRows(gridSize(cfg)), cfg.numHeads]);
    s.set(`${b}.attn.proj.weight`, [d, d]);
    s.set(`${b}.attn.proj.bias`, [d]);
    if (cfg.layerScale) s.set(`${b}.ls1.gamma`, [d]);
    s.set(`${b}.norm2.weight`, [d]);
    s.set(`${b}.norm2.bias`, [d]);
    for (const [name, shape] of mlpShapes(`${b}.mlp`, d, m, cfg.mlp === 'swiglu')) s.set(name, shape);
    if (cfg.layerScale) s.set(`${b}.ls2.gamma`, [d]);
  }
  const norm = cfg.pool === 'avg' ? 'fc_norm' : 'norm';
  s.set(`${norm}.weight`, [d]);
  s.set(`${norm}.bias`, [d]);
  if (cfg.pool === 'map') for (const [name, shape] of mapHeadShapes(d, m)) s.set(name, shape);
  if (r > 0) {
    s.set('pre_logits.fc.weight', [r, d]);
    s.set('pre_logits.fc.bias', [r]);
  }
  if (k > 0) {
    s.set('head.weight', [k, r > 0 ? r : pooledDim(cfg)]);
    s.set('head.bias', [k]);
    if (cfg.distToken) {
      s.set('head_dist.weight', [k, d]);
      s.set('head_dist.bias', [k]);
    }
  }
  return s;
}

/** An MLP's fc1 [m, d] and fc2 [d, m] (SwiGLU: fc2 reads half of fc1's packed output, [d, m/2]). */
function mlpShapes(prefix: string, d: number, m: number, swiglu = false): [string, number[]][] {
  const hidden = swiglu ? m / 2 : m;
  return [[`${prefix}.fc1.weight`, [m, d]], [`${prefix}.fc1.bias`, [m]], [`${prefix}.fc2.weight`, [d, hidden]], [`${prefix}.fc2.bias`, [d]]];
}

/** timm's AttentionPoolLatent (the MAP head): a probe, its query, the tokens' keys and values, output, norm, MLP. */
function mapHeadShapes(d: number, m: number): [string, number[]][] {
  return [
    ['attn_pool.latent', [1, 1, d]],
    ['attn_pool.q.weight', [d, d]], ['attn_pool.q.bias', [d]],
    ['attn_pool.kv.weight', [2 * d, d]], ['attn_pool.kv.bias', [2 * d]],
    ['attn_pool.proj.weight', [d, d]], ['attn_pool.proj.bias', [d]],
    ['attn_pool.norm.weight', [d]], ['attn_pool.norm.bias', [d]],
    ...mlpShapes('attn_pool.mlp', d, m),
  ];
}

/** Total number of parameters. */
export function countParameters(cfg: ViTConfig): number {
  let n = 0;
  for (const shape of parameterShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Multiply-accumulate FLOPs (×2) of one forward pass per image at the config's resolution (a hybrid's backbone included). */
export function forwardFlops(cfg: ViTConfig): number {
  const n = gridSize(cfg) ** 2 + prefixTokens(cfg);
  const { embedDim: d, patchSize: p } = cfg;
  const m = cfg.mlp === 'swiglu' ? (3 * cfg.mlpDim) / 4 : cfg.mlpDim; // SwiGLU: fc1 d→m, fc2 m/2→d
  const c = cfg.backbone ? featureChannels(cfg.backbone) : cfg.inChans;
  const backbone = cfg.backbone ? backboneFlops(cfg.backbone, cfg.inChans, cfg.imgSize) : 0;
  const perBlock = n * (3 * d * d + d * d + 2 * d * m) + 2 * n * n * d;
  const head = (cfg.preLogitsDim ? d * cfg.preLogitsDim : 0) + (cfg.preLogitsDim || d) * cfg.numClasses;
  return backbone + 2 * (gridSize(cfg) ** 2 * c * p * p * d + cfg.depth * perBlock + head);
}
