// The committed PyTorch/numpy reference values for the analyses (made by test/fixtures/analysis/make_fixtures.py).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../src/graph/tensor.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';

export const ANALYSIS_FIXTURES = fileURLToPath(new URL('../fixtures/analysis/', import.meta.url));

let cached: Map<string, Tensor> | undefined;

/** reference.safetensors by name (float64 references arrive as float32: compare relative to magnitude). */
export function reference(name: string): Tensor {
  cached ??= readSafetensors(`${ANALYSIS_FIXTURES}reference.safetensors`).tensors;
  const t = cached.get(name);
  if (!t) throw new Error(`no reference tensor '${name}'`);
  return t;
}

/** Largest |a − b| / max(1, |b|) over the values; asserts it is within `tol` and returns it. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  assert.ok(worst <= tol, `${what}: differs by ${worst} (tolerance ${tol})`);
  return worst;
}

/** Row `i` of a [N, …] tensor as plain numbers. */
export function row(t: Tensor, i: number): Float32Array {
  const per = t.data.length / t.shape[0]!;
  return (t.data as Float32Array).subarray(i * per, (i + 1) * per);
}
