// Loss functions as graph ops: softmax cross-entropy with label smoothing (fine-tuning and training from
// scratch), its soft-target form (Mixup/CutMix targets) and sigmoid cross-entropy (multi-label targets, as the
// paper's JFT pre-training head).
import type { Value } from '../graph/graph.ts';
import { float32, formatShape } from '../graph/tensor.ts';
import { add, cast, mul, neg, softplus, sub } from '../ops/elementwise.ts';
import { logSoftmax } from '../ops/nn.ts';
import { argMax, reduceMean, reduceSum } from '../ops/reduce.ts';
import { gather } from '../ops/shape.ts';

export interface SoftmaxCrossEntropyOptions {
  /**
   * ε of label smoothing: the target is (1 − ε)·onehot + ε/K, as PyTorch's
   * `CrossEntropyLoss(label_smoothing=ε)`. 0 (default) is the plain cross-entropy.
   */
  readonly labelSmoothing?: number;
}

export interface SoftmaxCrossEntropy {
  /** [] mean over the batch of the per-example losses. */
  readonly loss: Value;
  /** [B] per-example losses. */
  readonly perExample: Value;
  /** [B] 1 where argmax(logits) equals the label, else 0, in the logits' dtype (for accuracy; no gradient). */
  readonly correct: Value;
}

/**
 * Softmax cross-entropy of `logits` [B, K] (float) against integer class `labels` [B] (int64 or int32).
 * Numerically stable: log-probabilities come from logSoftmax (max-subtracted log-sum-exp), and the gradient is
 * LogSoftmax's rule, softmax − target. Labels must lie in [0, K) (the graph cannot check them; TrainSession does).
 *
 * One-hot rows are looked up in an identity matrix (Gather) rather than compared (Equal on int64): onnxruntime's
 * WebGPU provider has no int64 Equal or Cast, so those ran on the CPU with a copy each way per step. With Gather
 * every node of a training step runs on the GPU (test/runtime/train-session-webgpu.test.ts reads the placements).
 */
export function softmaxCrossEntropy(logits: Value, labels: Value, opts: SoftmaxCrossEntropyOptions = {}): SoftmaxCrossEntropy {
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new Error(`label smoothing must be in [0, 1), got ${eps}`);
  if (logits.rank !== 2 || (logits.dtype !== 'float32' && logits.dtype !== 'float64')) {
    throw new Error(`softmaxCrossEntropy: logits must be float [B, K], got ${logits}`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0] || (labels.dtype !== 'int64' && labels.dtype !== 'int32')) {
    throw new Error(`softmaxCrossEntropy: labels must be int64 [${logits.shape[0]}], got ${labels}`);
  }
  const k = logits.shape[1];
  if (typeof k !== 'number') throw new Error(`softmaxCrossEntropy: the class count of ${logits} must be static`);
  const logp = logSoftmax(logits, 1); // [B, K]
  const eye = identity(logits);
  const onehot = gather(eye, labels); // [B, K]
  const target = eps > 0 ? add(mul(onehot, 1 - eps), eps / k) : onehot;
  const perExample = neg(reduceSum(mul(target, logp), [1])); // [B]
  const loss = reduceMean(perExample, [0]); // []
  return { loss, perExample, correct: reduceSum(mul(onehot, gather(eye, argMax(logits, 1))), [1]) };
}

/**
 * Softmax cross-entropy against soft `targets` [B, K] (rows of class probabilities, e.g. Mixup/CutMix blends of
 * smoothed one-hot vectors), as timm's SoftTargetCrossEntropy: per example −Σ_k t_k·log softmax(x)_k, averaged over
 * the batch; gradient (softmax(x)·Σt − t)/B. `correct` compares the argmax of the logits with the targets' argmax
 * (the dominant label of a mixed pair).
 */
export function softTargetCrossEntropy(logits: Value, targets: Value): SoftmaxCrossEntropy {
  if (logits.rank !== 2 || (logits.dtype !== 'float32' && logits.dtype !== 'float64')) {
    throw new Error(`softTargetCrossEntropy: logits must be float [B, K], got ${logits}`);
  }
  if (targets.dtype !== logits.dtype || targets.rank !== 2 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new Error(`softTargetCrossEntropy: targets ${targets} must be ${logits.dtype}${formatShape(logits.shape)} like the logits`);
  }
  const perExample = neg(reduceSum(mul(targets, logSoftmax(logits, 1)), [1])); // [B]
  const eye = identity(logits);
  const correct = reduceSum(mul(gather(eye, argMax(targets, 1)), gather(eye, argMax(logits, 1))), [1]); // [B]
  return { loss: reduceMean(perExample, [0]), perExample, correct };
}

/** The K×K identity in the dtype of `logits` [B, K]: its rows, gathered by class index, are one-hot vectors. */
function identity(logits: Value): Value {
  const k = logits.shape[1] as number;
  const eye = Float32Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));
  return cast(logits.graph.constant(float32([k, k], eye), 'eye'), logits.dtype);
}

export interface SigmoidCrossEntropy {
  /** [] mean over the batch of the per-example losses. */
  readonly loss: Value;
  /** [B] per-example losses, summed over the K classes. */
  readonly perExample: Value;
}

/**
 * Sigmoid (binary) cross-entropy for multi-label `targets` [B, K] in [0, 1] against `logits` [B, K]:
 * per element softplus(x) − x·t (= −t·log σ(x) − (1 − t)·log(1 − σ(x)), stable for any x), SUMMED over the
 * classes and AVERAGED over the batch, as big_vision's `sigmoid_xent` used for the paper's pre-training.
 * Its gradient with respect to the logits is (σ(x) − t)/B.
 */
export function sigmoidCrossEntropy(logits: Value, targets: Value): SigmoidCrossEntropy {
  if (logits.rank !== 2 || (logits.dtype !== 'float32' && logits.dtype !== 'float64')) {
    throw new Error(`sigmoidCrossEntropy: logits must be float [B, K], got ${logits}`);
  }
  if (targets.dtype !== logits.dtype || targets.rank !== 2 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new Error(`sigmoidCrossEntropy: targets ${targets} must be ${logits.dtype}${formatShape(logits.shape)} like the logits`);
  }
  const perExample = reduceSum(sub(softplus(logits), mul(logits, targets)), [1]); // [B]
  return { loss: reduceMean(perExample, [0]), perExample };
}
