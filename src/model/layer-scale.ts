// Layer scale folded into the linear layer before it, for inference graphs: a block's residual branches end in
// (x·Wᵀ + b)·γ (timm's ls1 after attn.proj, ls2 after mlp.fc2), which is x·(γ⊙W)ᵀ + γ⊙b, one linear layer and no
// per-channel Mul over every token. Training graphs keep γ as its own parameter, and checkpoints keep it unfolded.
import { type StateDict, type Tensor, tensor } from '../graph/tensor.ts';
import type { ViTConfig } from './config.ts';
import { SCALE_SUFFIX } from './int8.ts';

/** The linear layer each layer-scale gain follows, per block. */
const FOLDS = [['ls1', 'attn.proj'], ['ls2', 'mlp.fc2']] as const;

/**
 * `weights` with every block's layer scale folded into the layer before it, and the config that builds the model
 * without it (`layerScale` off); a config without layer scale is returned as it is. Float32 weights are scaled row by
 * row; an int8 layer keeps its integers and has its per-row scales multiplied by γ (DynamicQuantizeMatMul takes a
 * negative scale as it is): the products of γ⊙W quantized per row, and exact where a checkpoint has one scale per tensor.
 */
export function foldLayerScale(cfg: ViTConfig, weights: StateDict): { config: ViTConfig; weights: StateDict } {
  if (!cfg.layerScale) return { config: cfg, weights };
  const out: StateDict = new Map(weights);
  for (let i = 0; i < cfg.depth; i++) {
    for (const [ls, layer] of FOLDS) {
      const gamma = take(weights, `blocks.${i}.${ls}.gamma`).data as Float32Array;
      const prefix = `blocks.${i}.${layer}`;
      const w = take(weights, `${prefix}.weight`);
      if (w.dtype === 'int8') {
        const s = take(weights, `${prefix}.weight${SCALE_SUFFIX}`).data as Float32Array;
        out.set(`${prefix}.weight${SCALE_SUFFIX}`, tensor('float32', [gamma.length], gamma.map((g, r) => g * s[s.length === 1 ? 0 : r]!)));
      } else if (w.dtype === 'float32') out.set(`${prefix}.weight`, scaleRows(w as Tensor<'float32'>, gamma));
      else throw new Error(`cannot fold layer scale into ${w.dtype} '${prefix}.weight'`);
      const b = weights.get(`${prefix}.bias`);
      if (b) out.set(`${prefix}.bias`, scaleRows(b as Tensor<'float32'>, gamma));
      out.delete(`blocks.${i}.${ls}.gamma`);
    }
  }
  return { config: { ...cfg, layerScale: false }, weights: out };
}

function take(weights: StateDict, name: string): Tensor {
  const t = weights.get(name);
  if (!t) throw new Error(`cannot fold layer scale: '${name}' is missing`);
  return t;
}

/** Row r of `t` [rows, …] times gamma[r]. */
function scaleRows(t: Tensor<'float32'>, gamma: Float32Array): Tensor<'float32'> {
  const cols = t.data.length / gamma.length;
  return tensor('float32', t.shape, t.data.map((v, i) => v * gamma[Math.floor(i / cols)]!));
}

