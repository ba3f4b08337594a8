// Position-embedding resampling for running a model at another resolution (the paper's fine-tuning at
// higher resolution, §3.2): the patch grid's embeddings are interpolated in 2D, prefix tokens kept as they are.
import { type StateDict, type Tensor, formatShape } from '../graph/tensor.ts';
import { resampleTaps } from '../resample-taps.ts';
import { resizeRelPosTable } from './rel-pos-bias.ts';
import { type ViTConfig, checkConfig, embeddedPrefix, gridSize } from './config.ts';

/** Interpolation weights mapping `inSize` samples to `outSize`: a dense row of `inSize` weights per output. */
function resampleWeights(inSize: number, outSize: number): Float64Array[] {
  const t = resampleTaps(inSize, outSize, 'bicubic');
  return Array.from({ length: outSize }, (_, o) => {
    const row = new Float64Array(inSize);
    for (let k = 0; k < t.count[o]!; k++) row[t.first[o]! + k] = t.weights[o * t.ksize + k]!;
    return row;
  });
}

/**
 * Resamples `pos_embed` [1, prefix + g·g, D] to a `newGrid`×`newGrid` patch grid, as timm's
 * `resample_abs_pos_embed` (bicubic, antialiased, separable: rows then columns).
 */
export function resamplePosEmbed(posEmbed: Tensor, newGrid: number, numPrefix: number): Tensor<'float32'> {
  const [one, tokens, d] = posEmbed.shape as [number, number, number];
  const oldGrid = Math.round(Math.sqrt(tokens - numPrefix));
  if (one !== 1 || posEmbed.shape.length !== 3 || oldGrid * oldGrid !== tokens - numPrefix) {
    throw new Error(`pos_embed ${formatShape(posEmbed.shape)} is not [1, ${numPrefix} + g·g, D]`);
  }
  const src = posEmbed.data as Float32Array;
  const out = new Float32Array((numPrefix + newGrid * newGrid) * d);
  out.set(src.subarray(0, numPrefix * d));
  const w = resampleWeights(oldGrid, newGrid);
  // Vertical pass: [oldGrid rows] → [newGrid rows], each row oldGrid·D wide.
  const tmp = new Float64Array(newGrid * oldGrid * d);
  for (let y = 0; y < newGrid; y++) {
    const wy = w[y]!;
    for (let sy = 0; sy < oldGrid; sy++) {
      const k = wy[sy]!;
      if (k === 0) continue;
      const base = (numPrefix + sy * oldGrid) * d;
      for (let i = 0; i < oldGrid * d; i++) tmp[y * oldGrid * d + i]! += k * src[base + i]!;
    }
  }
  // Horizontal pass within each new row.
  for (let y = 0; y < newGrid; y++) {
    for (let x = 0; x < newGrid; x++) {
      const wx = w[x]!;
      const o = (numPrefix + y * newGrid + x) * d;
      for (let sx = 0; sx < oldGrid; sx++) {
        const k = wx[sx]!;
        if (k === 0) continue;
        const base = (y * oldGrid + sx) * d;
        for (let c = 0; c < d; c++) out[o + c]! += k * tmp[base + c]!;
      }
    }
  }
  return { dtype: 'float32', shape: [1, numPrefix + newGrid * newGrid, d], data: out };
}

/**
 * The same model at another input resolution: the patch size is kept, the grid changes, and the position
 * embeddings are resampled (their prefix entries, if any, kept: tokens without one, such as registers, need none). Returns the inputs unchanged when the resolution already matches.
 */
export function atResolution(cfg: ViTConfig, weights: StateDict, imgSize: number): { config: ViTConfig; weights: StateDict } {
  if (imgSize === cfg.imgSize) return { config: cfg, weights };
  const config = checkConfig({ ...cfg, imgSize });
  const resampled = new Map(weights);
  if (cfg.absPosEmbed ?? true) resampled.set('pos_embed', resamplePosEmbed(weights.get('pos_embed')!, gridSize(config), embeddedPrefix(cfg)));
  for (let i = 0; cfg.relPosBias && i < cfg.depth; i++) {
    const name = `blocks.${i}.attn.relative_position_bias_table`;
    resampled.set(name, resizeRelPosTable(weights.get(name)!, gridSize(config)));
  }
  return { config, weights: resampled };
}
