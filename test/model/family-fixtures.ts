// The families' golden references (test/fixtures/families/, made by its make_fixtures.py) and how tests compare.
import assert from 'node:assert/strict';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import type { ViTConfig } from '../../src/model/config.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';

export const FAMILIES = new URL('../fixtures/families/', import.meta.url).pathname;

/** A fixture folder's references (see make_fixtures.py). */
export function familyExpected(name: string): Map<string, Tensor> {
  return readSafetensors(`${FAMILIES}${name}/expected.safetensors`).tensors;
}

/** max |a − b| relative to the reference's scale, max |b|. */
export function relErr(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(Number(a.data[i]) - Number(b.data[i])));
    scale = Math.max(scale, Math.abs(Number(b.data[i])));
  }
  return diff / scale;
}

/** The model's output: logits, or the pooled embedding of a headless model. */
export async function runModel(cfg: ViTConfig, weights: Map<string, Tensor>, images: Tensor): Promise<Tensor> {
  const out = cfg.numClasses > 0 ? 'logits' : 'pooled';
  const session = await Session.create(toOnnx(inferenceGraph(cfg, weights, [out])));
  return (await session.run({ images }))[out]!;
}
