// Shared by the training tests: the PyTorch one-step fixture (../shared/fixtures/train_step, see its README)
// and a scale-relative comparison that reports the worst error.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { StateDict, Tensor } from '../../src/graph/tensor.ts';
import { type ViTConfig, checkConfig, defaultConfig } from '../../src/model/config.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';

export const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/train_step/train_step.safetensors');
export const haveFixture = existsSync(FIXTURE);

/** micro_gray_p4_28 (timm kwargs in the fixtures' manifest). */
export const microGray: ViTConfig = checkConfig({
  ...defaultConfig,
  imgSize: 28,
  patchSize: 4,
  inChans: 1,
  embedDim: 32,
  depth: 2,
  numHeads: 4,
  mlpDim: 64,
  numClasses: 10,
  layerNormEps: 1e-5,
});

/** The fixture's settings. */
export const adamw = { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 } as const;
export const sgd = { kind: 'sgd', momentum: 0.9, weightDecay: 0 } as const;
export const labelSmoothing = 0.1;
export const clipNorm = 1.0;

let cache: StateDict | null = null;
export function fixture(): StateDict {
  cache ??= readSafetensors(FIXTURE).tensors;
  return cache;
}

export function get(key: string): Tensor {
  const t = fixture().get(key);
  if (!t) throw new Error(`fixture has no '${key}'`);
  return t;
}

/** Parameters under a prefix (`init.`, `adamw.after.0.`, `sgd.grad.0.`…) as a state dict by parameter name. */
export function params(prefix: string): StateDict {
  const out: StateDict = new Map();
  for (const name of parameterShapes(microGray).keys()) out.set(name, get(prefix + name));
  return out;
}

/** Worst |a − e| / max|e| over one tensor. */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
  }
  return scale === 0 ? err : err / scale;
}

/** Tracks the worst relative error over named tensors and fails on any above `tol`. */
export class ErrorReport {
  worst = 0;
  worstName = '';
  constructor(readonly tol: number) {}
  check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
    const e = relErr(actual, expected);
    if (e > this.worst) {
      this.worst = e;
      this.worstName = name;
    }
    assert.ok(e <= this.tol, `${name}: relative error ${e.toExponential(2)} > ${this.tol}`);
  }
  /**
   * A parameter after an update. The key third of `attn.qkv.bias` is special: its gradient is exactly zero in
   * exact arithmetic (a bias on the keys adds the same q·b to every score of a query row, which softmax
   * ignores), so both frameworks see only float32 rounding noise (~1e-12) there, which AdamW turns into
   * arbitrary ±lr·g/(|g|+eps) steps of up to ~1e-6. That slice is held to an absolute bound instead.
   */
  checkParam(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, keyAtol = 5e-6): void {
    if (!name.endsWith('attn.qkv.bias')) return this.check(name, actual, expected);
    const d = expected.length / 3;
    const pick = (a: ArrayLike<number>, from: number, to: number) => Array.from({ length: to - from }, (_, i) => a[from + i]!);
    this.check(name, [...pick(actual, 0, d), ...pick(actual, 2 * d, 3 * d)], [...pick(expected, 0, d), ...pick(expected, 2 * d, 3 * d)]);
    const k = pick(actual, d, 2 * d);
    const ke = pick(expected, d, 2 * d);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(k[i]! - ke[i]!) <= keyAtol, `${name} (key bias)[${i}]: ${k[i]} vs ${ke[i]}`);
  }

  toString(): string {
    return `max rel err ${this.worst.toExponential(2)} (${this.worstName})`;
  }
}

/** Element-wise difference of two float tensors (for comparing updates rather than values). */
export function delta(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);
}

/**
 * The fixture stores `p.grad` read after `clip_grad_norm_`, which scales the gradients in place: they are the
 * clipped gradients (its README says unclipped). Our `grad.<param>` outputs are unclipped, so compare them
 * scaled by clip_grad_norm_'s coefficient.
 */
export const clipCoef = (norm: number): number => Math.min(1, clipNorm / (norm + 1e-6));
export const scaled = (a: ArrayLike<number>, c: number): Float64Array => Float64Array.from(a, (v) => v * c);
