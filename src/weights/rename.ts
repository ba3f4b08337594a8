// Helpers shared by the name mappings (hf.ts, google.ts).
import type { Tensor } from '../graph/tensor.ts';

/**
 * A renaming step for the name mappings: `move(from, to, f)` moves tensor `from` (if present) out of `src` into
 * `out` as `to`, transformed by `f`. Whatever is left in `src` afterwards is what the mapping did not recognise.
 */
export function mover(src: Map<string, Tensor>, out: Map<string, Tensor>) {
  return (from: string, to: string, f: (t: Tensor) => Tensor = (t) => t): void => {
    const t = src.get(from);
    if (!t) return;
    out.set(to, f(t));
    src.delete(from);
  };
}

/**
 * timm's Beit names its layer scales `blocks.{i}.gamma_1`/`gamma_2` where its VisionTransformer (canonical) has
 * `blocks.{i}.ls1.gamma`/`ls2.gamma`; everything else in a timm BEiT file is already canonical.
 */
export function beitLayerScaleNames(sd: Map<string, Tensor>): Map<string, Tensor> {
  if (!sd.has('blocks.0.gamma_1')) return sd;
  return new Map([...sd].map(([k, v]) => [k.replace(/^(blocks\.\d+)\.gamma_([12])$/, '$1.ls$2.gamma'), v]));
}

/** Number of encoder blocks named in `names`: one more than the largest index `pattern`'s group 1 captures. */
export function blockCount(names: Iterable<string>, pattern: RegExp): number {
  let depth = 0;
  for (const n of names) depth = Math.max(depth, Number(pattern.exec(n)?.[1] ?? -1) + 1);
  return depth;
}
