// The few data-layout moves the name mappings need (axis permutes, reshapes, row concat/split), on host tensors.
// They run on tensors straight from checkpoint files, whose shapes need not be what their names imply: a mismatch
// is the file's fault, a UserError (the loader adds the file's name).
import type { Tensor } from '../graph/tensor.ts';
import { formatShape, numel } from '../graph/tensor.ts';
import { UserError } from '../errors.ts';

const misfit = (what: string) =>
  new UserError(`${what}: the tensors do not have the shapes their names imply (not a ViT checkpoint, or a damaged one)`);

/** Same data, new shape (element count must match). */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== t.data.length) throw misfit(`cannot reshape ${formatShape(t.shape)} to ${formatShape(shape)}`);
  return { ...t, shape: [...shape] };
}

/** Reorders axes: output axis i is input axis perm[i] (numpy's transpose). Works for any dtype. */
export function permute(t: Tensor, perm: readonly number[]): Tensor {
  const { shape } = t;
  if (perm.length !== shape.length) throw misfit(`cannot permute ${formatShape(shape)} by ${formatShape(perm)}`);
  const outShape = perm.map((p) => shape[p]!);
  const inStride = shape.map((_, i) => numel(shape.slice(i + 1)));
  const stride = perm.map((p) => inStride[p]!); // input stride of each output axis
  const src = t.data as ArrayLike<number | bigint>;
  const data = t.data.slice();
  const out = data as { [i: number]: number | bigint };
  const idx = outShape.map(() => 0);
  let from = 0;
  for (let o = 0; o < src.length; o++) {
    out[o] = src[from]!;
    // odometer over output indices, last axis fastest, tracking the input offset incrementally
    for (let j = outShape.length - 1; j >= 0; j--) {
      from += stride[j]!;
      if (++idx[j]! < outShape[j]!) break;
      from -= stride[j]! * outShape[j]!;
      idx[j] = 0;
    }
  }
  return { ...t, shape: outShape, data };
}

/** Swaps the two axes of a matrix: [a, b] → [b, a] (JAX's [in, out] kernels ⇄ PyTorch's [out, in] weights). */
export function transpose(t: Tensor): Tensor {
  return permute(t, [1, 0]);
}

/** Stacks float32 tensors along axis 0 (their other axes must agree). */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const rest = parts[0]!.shape.slice(1);
  const odd = parts.find((p) => p.dtype !== 'float32');
  if (odd) throw misfit(`cannot concatenate a ${odd.dtype} tensor with float32 weights`);
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    if (formatShape(p.shape.slice(1)) !== formatShape(rest)) {
      throw misfit(`cannot concat ${formatShape(p.shape)} with ${formatShape(parts[0]!.shape)}`);
    }
    data.set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { dtype: 'float32', shape: [data.length / numel(rest), ...rest], data };
}

/** Splits a float32 tensor into `n` equal parts along axis 0 (copies, so each part owns its buffer). */
export function splitRows(t: Tensor, n: number): Tensor[] {
  const rows = t.shape[0]! / n;
  const size = t.data.length / n;
  return Array.from({ length: n }, (_, i) => ({
    dtype: 'float32' as const,
    shape: [rows, ...t.shape.slice(1)],
    data: (t.data as Float32Array).slice(i * size, (i + 1) * size),
  }));
}
