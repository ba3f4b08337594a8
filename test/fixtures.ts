// Paths to the shared golden references (made with PyTorch + timm; see ../shared/fixtures/README.md).
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/graph/tensor.ts';
import type { ViTConfig } from '../src/model/config.ts';
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

/**
 * One checkpoint per fixture format with what a bare file does not say (heads, LayerNorm epsilon): the set the
 * WebGPU tests and bench:webgpu-accuracy run against timm's logits.
 */
export const FIXTURE_CHECKPOINTS: readonly (readonly [model: string, format: string, overrides: Partial<ViTConfig>])[] = [
  ['micro_p16_224', 'timm.safetensors', { numHeads: 2, layerNormEps: 1e-6 }],
  ['micro_p16_224', 'hf', {}],
  ['micro_p16_224', 'google.npz', { layerNormEps: 1e-6 }],
  ['micro_p8_64_avg', 'timm.safetensors', { numHeads: 3, layerNormEps: 1e-6 }],
  ['hybrid_r26_32', 'timm.safetensors', { numHeads: 2 }],
];
