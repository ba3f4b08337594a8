// CLIP zero-shot's golden references (test/fixtures/clip-zero-shot/, made by its make_fixtures.py).
import type { Tensor } from '../../src/graph/tensor.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';

export const ZERO_SHOT = new URL('../fixtures/clip-zero-shot/', import.meta.url).pathname;

/** expected.safetensors: given ids and label sets through transformers' CLIPModel (see make_fixtures.py). */
export function zeroShotExpected(): Map<string, Tensor> {
  return readSafetensors(`${ZERO_SHOT}expected.safetensors`).tensors;
}
