// Dropout and stochastic depth in the training graph as multiplications by random keep-masks that are graph
// inputs. Why inputs and not onnxruntime's random ops: their seed is a node attribute, so a resumed run could not
// continue the same stream; masks drawn on the host from (seed, epoch, batch) (src/data/noise.ts) make every run
// reproducible and every resume exact. Inference and eval graphs take no masks: with no noise hook the ViT graph
// is unchanged.
import type { Graph, Value } from '../graph/graph.ts';
import type { NoiseSite } from './vit.ts';
import { cast, mul } from '../ops/elementwise.ts';

/** One mask input: uint8 [B, ...shape], each element 0 (drop) with probability `rate`, else 1 (keep). */
export interface NoiseSpec {
  readonly name: string;
  /** Per-example shape (e.g. [T, D] for dropout on tokens, [1, 1] for a per-sample drop path). */
  readonly shape: readonly number[];
  /** Drop probability in [0, 1). */
  readonly rate: number;
}

export interface NoiseRates {
  /** Dropout probability at every dropout site (timm's drop_rate; the paper's "dropout"). 0 = off. */
  readonly dropout?: number;
  /** Stochastic depth of the last block; earlier blocks get linearly less (timm's drop_path_rate). 0 = off. */
  readonly dropPath?: number;
  /** Dropout on the input of every LoRA adapter (see lora.ts). 0 = off. */
  readonly loraDropout?: number;
}

/** timm's schedule: block i of `depth` drops its residual branches with probability rate·i/(depth − 1). */
export function dropPathRate(rate: number, block: number, depth: number): number {
  return depth > 1 ? (rate * block) / (depth - 1) : rate;
}

/** Graph input name of a site's mask. */
export const maskName = (site: string): string => `mask.${site}`;

/**
 * A ViT noise hook that declares a uint8 mask input per site whose rate is positive (dropout: [B, …] like the
 * value; drop path: [B, 1, …, 1], one draw per example) and multiplies by mask/(1 − rate), so the expected value
 * is unchanged, as inverted dropout. `specs` collects what the data side must draw (per-example shapes).
 */
export function maskHook(g: Graph, depth: number, rates: NoiseRates): { hook: (x: Value, site: NoiseSite) => Value; specs: NoiseSpec[] } {
  const specs: NoiseSpec[] = [];
  const hook = (x: Value, site: NoiseSite): Value => {
    const rate =
      site.kind === 'dropout'
        ? (rates.dropout ?? 0)
        : site.kind === 'lora-dropout'
          ? (rates.loraDropout ?? 0)
          : dropPathRate(rates.dropPath ?? 0, site.block ?? 0, depth);
    if (rate === 0) return x;
    if (!(rate > 0 && rate < 1)) throw new Error(`${site.kind} rate ${rate} at ${site.name} is outside [0, 1)`);
    const [batch, ...rest] = x.dims;
    const shape = site.kind === 'drop-path' ? rest.map(() => 1) : rest;
    const mask = g.input(maskName(site.name), 'uint8', [batch!, ...shape]);
    specs.push({ name: maskName(site.name), shape, rate });
    return mul(mul(x, cast(mask, x.dtype)), 1 / (1 - rate));
  };
  return { hook, specs };
}
