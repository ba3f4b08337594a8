// Position-embedding similarity (the paper's Fig. 7 centre, App. D.4): the cosine similarity of each patch's learned
// position embedding with every other one. A trained model shows nearby patches alike and row/column structure,
// i.e. the 1-D embeddings have learned the 2-D image topology.
import { type Tensor, formatShape } from '../graph/tensor.ts';

/** Cosine similarities between the position embeddings of a grid×grid layout of patches. */
export interface PosEmbedSimilarity {
  readonly grid: number;
  /** [N·N], N = grid²: entry (i, j) is cos(e_i, e_j), patches row-major. */
  readonly values: Float64Array;
}

/** Similarities of `posEmbed` [1, numPrefix + g·g, D]; prefix tokens (the class token) are left out. */
export function posEmbedSimilarity(posEmbed: Tensor, numPrefix: number): PosEmbedSimilarity {
  const [one, tokens, d] = posEmbed.shape as [number, number, number];
  const n = tokens - numPrefix;
  const grid = Math.round(Math.sqrt(n));
  if (posEmbed.shape.length !== 3 || one !== 1 || grid * grid !== n) {
    throw new Error(`pos_embed ${formatShape(posEmbed.shape)} is not [1, ${numPrefix} + g·g, D]`);
  }
  const src = posEmbed.data as Float32Array;
  const unit = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const base = (numPrefix + i) * d;
    let norm = 0;
    for (let c = 0; c < d; c++) norm += src[base + c]! ** 2;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0; // an all-zero embedding is similar to nothing
    for (let c = 0; c < d; c++) unit[i * d + c] = src[base + c]! * inv;
  }
  const values = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += unit[i * d + c]! * unit[j * d + c]!;
      values[i * n + j] = values[j * n + i] = dot;
    }
  }
  return { grid, values };
}
