// The batch function the server's batcher calls: preprocessed images stacked into one [B, C, S, S] tensor, one
// classifier run, its outputs split back into one row per image (in this thread here, in a worker in worker-runner.ts).
import { type Tensor, tensor } from '../graph/tensor.ts';
import type { Classifier } from '../inference/classifier.ts';

/** One image's share of a batch run. */
export interface ImageOutputs {
  /** [K] class scores; absent for a model without a head. */
  readonly logits?: Float32Array;
  /** [D] pooled features (the embedding). */
  readonly pooled: Float32Array;
}

/** Runs preprocessed [C, S, S] images as one batch; one output per image, in order. */
export type BatchRunner = (images: readonly Tensor<'float32'>[]) => Promise<ImageOutputs[]>;

/** Stacks same-shaped [C, S, S] images into [B, C, S, S]. */
export function stackImages(images: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const per = images[0]!.data.length;
  const out = new Float32Array(images.length * per);
  images.forEach((t, i) => out.set(t.data, i * per));
  return tensor('float32', [images.length, ...images[0]!.shape], out);
}

/**
 * Splits a batch's [B, D] pooled features and [B, K] logits into one ImageOutputs per image (copies, so one reply
 * does not keep the whole batch's buffers alive).
 */
export function splitOutputs(batch: number, pooled: Float32Array, logits?: Float32Array): ImageOutputs[] {
  const rows = (a: Float32Array, i: number): Float32Array => {
    const width = a.length / batch;
    return a.slice(i * width, (i + 1) * width);
  };
  return Array.from({ length: batch }, (_, i) => ({ pooled: rows(pooled, i), ...(logits ? { logits: rows(logits, i) } : {}) }));
}

/**
 * A BatchRunner over a classifier created with outputs ['logits', 'pooled'] (or ['pooled'] without a head), run
 * on the calling thread (which onnxruntime-node blocks while it runs; `vitkit serve` uses startInferenceWorker).
 */
export function classifierRunner(classifier: Classifier): BatchRunner {
  return async (images) => {
    const { logits, pooled } = await classifier.run(stackImages(images));
    if (!pooled) throw new Error('the classifier was created without the pooled output');
    return splitOutputs(images.length, pooled.data as Float32Array, logits?.data as Float32Array | undefined);
  };
}
