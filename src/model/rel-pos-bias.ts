// BEiT's relative position bias: each block learns a table of one bias per head for every 2-D offset between two
// patches ((2g−1)² entries) plus three for the class token (to it, from it, itself), added to the attention scores.
import type { Value } from '../graph/graph.ts';
import { type Tensor, formatShape } from '../graph/tensor.ts';
import { gather, reshape, transpose } from '../ops/shape.ts';
import { resampleGrid, torchTaps } from '../resample-taps.ts';
import type { PosResample } from './config.ts';

/** Rows of a g×g grid's table: (2g−1)² offsets + 3 class-token entries. */
export const tableRows = (grid: number): number => (2 * grid - 1) ** 2 + 3;

/** The grid a table was made for, from its rows; NaN when the rows fit no grid. */
export function tableGrid(rows: number): number {
  const side = Math.round(Math.sqrt(rows - 3));
  return side * side === rows - 3 && side % 2 === 1 ? (side + 1) / 2 : NaN;
}

/** Table row of each [query, key] pair of the 1 + g² tokens, as timm's gen_relative_position_index. */
export function relativePositionIndex(grid: number): BigInt64Array {
  const t = grid * grid + 1;
  const rows = tableRows(grid);
  const index = new BigInt64Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      let r: number;
      if (i === 0 && j === 0) r = rows - 1;
      else if (i === 0) r = rows - 3; // the class token's query to a patch
      else if (j === 0) r = rows - 2; // a patch's query to the class token
      else {
        const [yi, xi, yj, xj] = [Math.floor((i - 1) / grid), (i - 1) % grid, Math.floor((j - 1) / grid), (j - 1) % grid];
        r = (yi - yj + grid - 1) * (2 * grid - 1) + (xi - xj + grid - 1);
      }
      index[i * t + j] = BigInt(r);
    }
  }
  return index;
}

/** The [H, T, T] bias a block adds to its scaled scores, gathered from its table [rows, H]. */
export function relPosBias(table: Value, grid: number): Value {
  const t = grid * grid + 1;
  const heads = table.shape[1] as number;
  const index = table.graph.constant({ dtype: 'int64', shape: [t * t], data: relativePositionIndex(grid) }, 'rel_pos_index');
  return transpose(reshape(gather(table, index, 0), [t, t, heads]), [2, 0, 1]); // [T·T, H] → [T, T, H] → [H, T, T]
}

/**
 * A table for another grid; the three class-token entries are kept. As timm's resize_rel_pos_bias_table (without
 * SciPy): the old offsets are placed on a geometric progression wide enough to span the new ones, and each head's
 * (2g−1)² map is interpolated bilinearly at the new integer offsets. With rule 'transformers', as transformers'
 * BeitRelativePositionBias: the map is resized by PyTorch's bilinear interpolate (align_corners=False, no antialias).
 */
export function resizeRelPosTable(table: Tensor, newGrid: number, rule: PosResample = 'timm'): Tensor<'float32'> {
  const [rows, heads] = table.shape as [number, number];
  const src = tableGrid(rows);
  if (table.shape.length !== 2 || Number.isNaN(src)) {
    throw new Error(`relative position bias table ${formatShape(table.shape)} is not [(2g−1)² + 3, H]`);
  }
  const [s, d] = [2 * src - 1, 2 * newGrid - 1];
  const data = table.data as Float32Array;
  const out = new Float32Array(tableRows(newGrid) * heads);
  out.set(data.subarray((rows - 3) * heads), d * d * heads);
  if (s === d) out.set(data.subarray(0, s * s * heads));
  else if (rule === 'transformers') {
    const taps = torchTaps(s, d, 'bilinear');
    out.set(resampleGrid(data.subarray(0, s * s * heads), s, heads, taps, taps));
  } else {
    const at = sourceOffsets(s, d); // increasing positions of the s old offsets
    const taps = Array.from({ length: d }, (_, k) => bracket(at, k - Math.floor(d / 2)));
    for (let y = 0; y < d; y++) {
      const [y0, wy] = taps[y]!;
      for (let x = 0; x < d; x++) {
        const [x0, wx] = taps[x]!;
        for (let h = 0; h < heads; h++) {
          const v = (yy: number, xx: number) => data[(yy * s + xx) * heads + h]!;
          const top = v(y0, x0) * (1 - wx) + v(y0, x0 + 1) * wx;
          const bottom = v(y0 + 1, x0) * (1 - wx) + v(y0 + 1, x0 + 1) * wx;
          out[(y * d + x) * heads + h] = top * (1 - wy) + bottom * wy;
        }
      }
    }
  }
  return { dtype: 'float32', shape: [tableRows(newGrid), heads], data: out };
}

/** timm's _calc: the ratio q whose progression 1, q, q², … over src/2 steps just exceeds dst/2, and the positions. */
function sourceOffsets(src: number, dst: number): number[] {
  const half = Math.floor(src / 2);
  const progression = (q: number) => (1 - q ** half) / (1 - q);
  let [left, right, q] = [1.01, 1.5, 1.01];
  while (right - left > 1e-6) {
    q = (left + right) / 2; // the last midpoint tried is the one used, as in timm
    if (progression(q) > Math.floor(dst / 2)) right = q;
    else left = q;
  }
  const dis: number[] = [];
  for (let i = 0, cur = 1; i < half; i++) {
    dis.push(cur);
    cur += q ** (i + 1);
  }
  return [...dis.map((v) => -v).reverse(), 0, ...dis];
}

/** The cell [i, i+1] of sorted positions holding p, and p's fraction across it (clamped to the ends). */
function bracket(at: readonly number[], p: number): [number, number] {
  let i = 0;
  while (i < at.length - 2 && at[i + 1]! < p) i++;
  return [i, (p - at[i]!) / (at[i + 1]! - at[i]!)];
}
