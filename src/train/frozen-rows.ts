// A frozen part's output for every image of a set, computed once (runtime/frozen-part.ts runs the part), and a step's
// batch gathered from it: what a run that trains only above that part steps on. Shared by the trainer's cache
// (cached-features.ts) and teach (teach.ts, which also runs in the page: nothing from `node:` here).
import { type Batch, Batches } from '../data/batches.ts';
import type { ImageSet } from '../data/image-set.ts';
import { numel, tensor } from '../graph/tensor.ts';
import type { FrozenPart } from '../runtime/frozen-part.ts';

/** Images per run of the frozen part. */
const PASS_BATCH = 32;

export interface FrozenRowsOptions {
  /** Called after each run with the images done so far. */
  readonly onProgress?: (done: number) => void;
  /** Aborting stops the pass before its next run (Ctrl-C in a long pass). */
  readonly signal?: AbortSignal;
}

/**
 * `part`'s output for every image of `set` in stored order, the images normalised as a step sees them (by `mean` and
 * `std`, not augmented): set.n × part.size values. Null when `opts.signal` stopped the pass first.
 */
export async function frozenRows(
  part: FrozenPart, set: ImageSet, norm: { readonly mean: readonly number[]; readonly std: readonly number[] }, opts: FrozenRowsOptions = {},
): Promise<Float32Array | null> {
  const rows = new Float32Array(set.n * part.size);
  for (const b of new Batches(set, { batchSize: PASS_BATCH, shuffle: false, mean: norm.mean, std: norm.std }).restOfEpoch()) {
    if (opts.signal?.aborted) return null;
    const first = b.indices[0]!;
    rows.set(await part.run(b.x.data, b.indices.length), first * part.size);
    opts.onProgress?.(first + b.indices.length);
  }
  return rows;
}

/** Rows `indices` of `rows` (each of `shape` values), with their labels, as a batch's tensors. */
export function gatherRows(rows: Float32Array, shape: readonly number[], labels: Int32Array, indices: Int32Array): Pick<Batch, 'x' | 'y'> {
  const size = numel(shape);
  const x = new Float32Array(indices.length * size);
  const y = new BigInt64Array(indices.length);
  indices.forEach((row, i) => {
    x.set(rows.subarray(row * size, (row + 1) * size), i * size);
    y[i] = BigInt(labels[row]!);
  });
  return { x: tensor('float32', [indices.length, ...shape], x), y: tensor('int64', [indices.length], y) };
}
