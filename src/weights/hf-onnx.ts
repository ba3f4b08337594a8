// The ONNX file of a Hugging Face directory (onnx/model.onnx), named as transformers.js and Optimum expect for
// image classification: input `pixel_values` [batch, C, S, S], output `logits` [batch, K].
import { Graph } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { buildViT, initializerParams } from '../model/vit.ts';
import { UserError } from '../errors.ts';

/** ONNX bytes of the classifier with Hugging Face's input and output names and a dynamic batch. */
export function hfOnnx(cfg: ViTConfig, weights: StateDict): Uint8Array {
  const g = new Graph('vit');
  const pixels = g.input('pixel_values', 'float32', ['batch', cfg.inChans, cfg.imgSize, cfg.imgSize]);
  const { logits } = buildViT(cfg, pixels, { params: initializerParams(g, weights) });
  if (!logits) throw new UserError('this checkpoint has no classifier head (0 classes): an image-classification ONNX model needs one');
  g.output(logits, 'logits');
  return toOnnx(g);
}
