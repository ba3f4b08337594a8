// The ONNX files of a Hugging Face directory, named as transformers.js and Optimum expect for image
// classification: input `pixel_values` [batch, C, S, S], output `logits` [batch, K]; onnx/model.onnx in float32 and
// onnx/model_quantized.onnx with int8 linear layers (what transformers.js loads for `dtype: 'q8'`).
import { toOnnx } from '../graph/onnx.ts';
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { dequantizeWeights, quantizeWeights } from '../model/int8.ts';
import { inferenceGraph } from '../model/vit.ts';
import { UserError } from '../errors.ts';

/** The classifier as ONNX files by their path in the directory, with Hugging Face's input and output names. */
export function hfOnnxFiles(cfg: ViTConfig, weights: StateDict): Record<string, Uint8Array> {
  if (cfg.numClasses === 0) throw new UserError('this checkpoint has no classifier head (0 classes): an image-classification ONNX model needs one');
  const graph = (w: StateDict) => toOnnx(inferenceGraph(cfg, w, ['logits'], { input: 'pixel_values' }));
  return { 'onnx/model.onnx': graph(dequantizeWeights(cfg, weights)), 'onnx/model_quantized.onnx': graph(quantizeWeights(cfg, weights)) };
}
