// The parameters of a ViT by canonical (timm) name, in timm's order, with their shapes.
import { type ViTConfig, gridSize } from './config.ts';
import { backboneFlops, backboneShapes, featureChannels } from './resnet-v2.ts';

/** Every parameter tensor a config implies, name → shape, in timm's state-dict order. */
export function parameterShapes(cfg: ViTConfig): Map<string, number[]> {
  const { embedDim: d, patchSize: p, inChans: c, mlpDim: m, numClasses: k, preLogitsDim: r } = cfg;
  const tokens = gridSize(cfg) ** 2 + (cfg.classToken ? 1 : 0);
  const s = new Map<string, number[]>();
  if (cfg.classToken) s.set('cls_token', [1, 1, d]);
  s.set('pos_embed', [1, tokens, d]);
  // A hybrid's projection reads the backbone's feature map instead of the image.
  for (const [name, shape] of cfg.backbone ? backboneShapes(cfg.backbone, c) : []) s.set(name, shape);
  s.set('patch_embed.proj.weight', [d, cfg.backbone ? featureChannels(cfg.backbone) : c, p, p]);
  s.set('patch_embed.proj.bias', [d]);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    s.set(`${b}.norm1.weight`, [d]);
    s.set(`${b}.norm1.bias`, [d]);
    s.set(`${b}.attn.qkv.weight`, [3 * d, d]);
    if (cfg.qkvBias) s.set(`${b}.attn.qkv.bias`, [3 * d]);
    s.set(`${b}.attn.proj.weight`, [d, d]);
    s.set(`${b}.attn.proj.bias`, [d]);
    s.set(`${b}.norm2.weight`, [d]);
    s.set(`${b}.norm2.bias`, [d]);
    s.set(`${b}.mlp.fc1.weight`, [m, d]);
    s.set(`${b}.mlp.fc1.bias`, [m]);
    s.set(`${b}.mlp.fc2.weight`, [d, m]);
    s.set(`${b}.mlp.fc2.bias`, [d]);
  }
  const norm = cfg.pool === 'avg' ? 'fc_norm' : 'norm';
  s.set(`${norm}.weight`, [d]);
  s.set(`${norm}.bias`, [d]);
  if (r > 0) {
    s.set('pre_logits.fc.weight', [r, d]);
    s.set('pre_logits.fc.bias', [r]);
  }
  if (k > 0) {
    s.set('head.weight', [k, r > 0 ? r : d]);
    s.set('head.bias', [k]);
  }
  return s;
}

/** Total number of parameters. */
export function countParameters(cfg: ViTConfig): number {
  let n = 0;
  for (const shape of parameterShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Multiply-accumulate FLOPs (×2) of one forward pass per image at the config's resolution (a hybrid's backbone included). */
export function forwardFlops(cfg: ViTConfig): number {
  const n = gridSize(cfg) ** 2 + (cfg.classToken ? 1 : 0);
  const { embedDim: d, mlpDim: m, patchSize: p } = cfg;
  const c = cfg.backbone ? featureChannels(cfg.backbone) : cfg.inChans;
  const backbone = cfg.backbone ? backboneFlops(cfg.backbone, cfg.inChans, cfg.imgSize) : 0;
  const perBlock = n * (3 * d * d + d * d + 2 * d * m) + 2 * n * n * d;
  const head = (cfg.preLogitsDim ? d * cfg.preLogitsDim : 0) + (cfg.preLogitsDim || d) * cfg.numClasses;
  return backbone + 2 * (gridSize(cfg) ** 2 * c * p * p * d + cfg.depth * perBlock + head);
}
