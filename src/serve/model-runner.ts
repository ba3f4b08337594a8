// The batch function the server's batcher calls: stacks preprocessed images into one [B, C, S, S] tensor,
// runs the classifier once, and splits its outputs back into one row per image.
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

/** Row `i` of a [B, …] float32 output, as a copy (the batch's buffer is not kept alive by one reply). */
function row(t: Tensor, i: number): Float32Array {
  const width = t.data.length / t.shape[0]!;
  return (t.data as Float32Array).slice(i * width, (i + 1) * width);
}

/** Stacks same-shaped [C, S, S] images into [B, C, S, S]. */
export function stackImages(images: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const per = images[0]!.data.length;
  const out = new Float32Array(images.length * per);
  images.forEach((t, i) => out.set(t.data, i * per));
  return tensor('float32', [images.length, ...images[0]!.shape], out);
}

/** A BatchRunner over a classifier created with outputs ['logits', 'pooled'] (or ['pooled'] without a head). */
export function classifierRunner(classifier: Classifier): BatchRunner {
  return async (images) => {
    const out = await classifier.run(stackImages(images));
    const { logits, pooled } = out;
    if (!pooled) throw new Error('the classifier was created without the pooled output');
    return images.map((_, i) => ({ pooled: row(pooled, i), ...(logits ? { logits: row(logits, i) } : {}) }));
  };
}
