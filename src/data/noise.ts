// Random keep-masks for dropout and stochastic depth, drawn with the batch they go with. Why here and not in the
// trainer: the masks are random data like an augmentation, a pure function of the batch's position, so the worker
// that builds batch k+1 draws its masks too while the graph runs step k (onnxruntime's run blocks the main
// thread). The data side stays model-agnostic: a mask is a name, a per-example shape and a drop rate; the model
// decides where it multiplies (see src/model/vit.ts, `noise`).
import { UserError } from '../errors.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import type { Rng } from '../rng.ts';

/** Throws a UserError for a rate outside [0, 1) or a malformed shape. */
export function checkNoise(specs: readonly NoiseSpec[]): void {
  for (const s of specs) {
    if (!(s.rate >= 0 && s.rate < 1)) throw new UserError(`${s.name}: drop rate ${s.rate} is invalid: pass a number in [0, 1)`);
    if (s.shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${s.name}: bad mask shape [${s.shape.join(', ')}]`);
  }
}

/**
 * Draws every mask for a batch of `batch` examples from `rng`, in `specs` order (so the stream is reproducible):
 * one 32-bit draw per element, kept when below (1 − rate)·2³², exact to 2⁻³².
 */
export function keepMasks(specs: readonly NoiseSpec[], batch: number, rng: Rng): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const s of specs) {
    const m = new Uint8Array(batch * s.shape.reduce((a, b) => a * b, 1));
    rng.fillBernoulli(m, 1 - s.rate);
    out.set(s.name, m);
  }
  return out;
}
