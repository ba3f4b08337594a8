// The ONNX files of a Hugging Face directory, named as transformers.js and Optimum expect: onnx/model.onnx in
// float32 and onnx/model_quantized.onnx with int8 linear layers (what transformers.js loads for `dtype: 'q8'`).
// Input `pixel_values` [batch, C, S, S]; output `logits` [batch, K] for image classification, or for feature
// extraction `pooler_output` (and CLIP's `image_embeds`), the outputs transformers' own model of that type gives.
import { toOnnx } from '../graph/onnx.ts';
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { dequantizeWeights, quantizeWeights } from '../model/int8.ts';
import { type ViTOutputName, inferenceGraph } from '../model/inference-graph.ts';
import { UserError } from '../errors.ts';
import type { HfType } from './hf-families-write.ts';

/**
 * The types whose transformers `pooler_output` is vitkit's pooled features: DINOv2's normalised class token, BEiT's
 * normalised patch mean, CLIP's normalised class token, SigLIP's MAP head (ViT's and DeiT's pooler is a tanh layer
 * vitkit does not have).
 */
const pooledTypes: readonly HfType[] = ['dinov2', 'dinov2_with_registers', 'beit', 'clip_vision_model', 'siglip_vision_model'];

/** The model as ONNX files by their path in the directory, with Hugging Face's input and output names. */
export function hfOnnxFiles(cfg: ViTConfig, weights: StateDict, type: HfType): Record<string, Uint8Array> {
  const classifies = cfg.numClasses > 0 && !cfg.projectionHead;
  if (!classifies && !pooledTypes.includes(type)) {
    const name = type === 'deit' ? 'DeiT' : 'ViT';
    throw new UserError(
      `--onnx: this ${name} has no classifier head, and transformers' ${name} pools its features with a layer vitkit `
      + 'has not: convert without --onnx to keep its features',
    );
  }
  const outputs: ViTOutputName[] = classifies ? ['logits'] : cfg.numClasses > 0 ? ['pooled', 'logits'] : ['pooled'];
  const outputNames = classifies ? {} : { pooled: 'pooler_output', logits: 'image_embeds' };
  const graph = (w: StateDict) => toOnnx(inferenceGraph(cfg, w, outputs, { input: 'pixel_values', outputNames }));
  return {
    'onnx/model.onnx': graph(dequantizeWeights(cfg, weights)),
    'onnx/model_quantized.onnx': graph(quantizeWeights(cfg, weights)),
  };
}
