// Paths to the shared golden references (made with PyTorch + timm; see ../shared/fixtures/README.md).
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/graph/tensor.ts';
import { readSafetensors } from '../src/weights/safetensors.ts';

export const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));

/** The golden tensors of a fixture folder (`expected.safetensors`). */
export function expected(model: string): Map<string, Tensor> {
  return readSafetensors(`${FIXTURES}${model}/expected.safetensors`).tensors;
}

/** Largest absolute difference between two float tensors of the same size. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.data.length !== b.data.length) throw new Error(`sizes differ: [${a.shape}] vs [${b.shape}]`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}
