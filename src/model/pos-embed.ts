// Position-embedding resampling for running a model at another resolution (the paper's fine-tuning at
// higher resolution, §3.2): the patch grid's embeddings are interpolated in 2D, prefix tokens kept as they are.
import { type StateDict, type Tensor, formatShape } from '../graph/tensor.ts';
import { resampleGrid, resampleTaps, torchTaps } from '../resample-taps.ts';
import { resizeRelPosTable } from './rel-pos-bias.ts';
import { type PosResample, type ViTConfig, checkConfig, embeddedPrefix, gridSize } from './config.ts';

/**
 * Resamples `pos_embed` [1, prefix + g·g, D] to a `newGrid`×`newGrid` patch grid, prefix entries kept: as timm's
 * `resample_abs_pos_embed` (bicubic, antialiased), or with rule 'transformers' as transformers' ViT, DeiT, DINOv2,
 * CLIP, SigLIP and BEiT `interpolate_pos_encoding` (bicubic without antialiasing, align_corners=False, size given).
 */
export function resamplePosEmbed(posEmbed: Tensor, newGrid: number, numPrefix: number, rule: PosResample = 'timm'): Tensor<'float32'> {
  const [one, tokens, d] = posEmbed.shape as [number, number, number];
  const oldGrid = Math.round(Math.sqrt(tokens - numPrefix));
  if (one !== 1 || posEmbed.shape.length !== 3 || oldGrid * oldGrid !== tokens - numPrefix) {
    throw new Error(`pos_embed ${formatShape(posEmbed.shape)} is not [1, ${numPrefix} + g·g, D]`);
  }
  const src = posEmbed.data as Float32Array;
  const taps = rule === 'transformers' ? torchTaps(oldGrid, newGrid, 'bicubic') : resampleTaps(oldGrid, newGrid, 'bicubic');
  const out = new Float32Array((numPrefix + newGrid * newGrid) * d);
  out.set(src.subarray(0, numPrefix * d));
  out.set(resampleGrid(src.subarray(numPrefix * d), oldGrid, d, taps, taps), numPrefix * d);
  return { dtype: 'float32', shape: [1, numPrefix + newGrid * newGrid, d], data: out };
}

/**
 * The same model at another input resolution: the patch size is kept, the grid changes, and the position
 * embeddings (their prefix entries kept: tokens without one, such as registers, need none) or BEiT's relative
 * position bias tables are resampled by the config's rule (`posResample`: the checkpoint's ecosystem, default timm's).
 * Returns the inputs unchanged when the resolution already matches.
 */
export function atResolution(cfg: ViTConfig, weights: StateDict, imgSize: number): { config: ViTConfig; weights: StateDict } {
  if (imgSize === cfg.imgSize) return { config: cfg, weights };
  const config = checkConfig({ ...cfg, imgSize });
  const rule = cfg.posResample ?? 'timm';
  const resampled = new Map(weights);
  if (cfg.absPosEmbed ?? true) {
    resampled.set('pos_embed', resamplePosEmbed(weights.get('pos_embed')!, gridSize(config), embeddedPrefix(cfg), rule));
  }
  for (let i = 0; cfg.relPosBias && i < cfg.depth; i++) {
    const name = `blocks.${i}.attn.relative_position_bias_table`;
    resampled.set(name, resizeRelPosTable(weights.get(name)!, gridSize(config), rule));
  }
  return { config, weights: resampled };
}
