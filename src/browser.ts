// vitkit's browser entry (`vitkit/web`): the parts that import nothing from `node:` — graph builder and ONNX
// encoder, op builders, autodiff, the ViT model, training-step graphs, preprocessing and ranking — for pages that
// build or run ViTs with onnxruntime-web. The main entry re-exports all of it.

// Host tensors and the graph builder
export { type DType, type Tensor, type StateDict, tensor, zeros, float32, numel } from './graph/tensor.ts';
export { Graph, Value, type Dim, type Shape } from './graph/graph.ts';
export { toOnnx, IR_VERSION, OPSET } from './graph/onnx.ts';

// Op builders (each op beside its gradient rule), by family
export * as elementwise from './ops/elementwise.ts';
export * as matmul from './ops/matmul.ts';
export * as nn from './ops/nn.ts';
export * as reduce from './ops/reduce.ts';
export * as shape from './ops/shape.ts';

// Autodiff
export { gradients } from './autodiff/grad.ts';
export { softmaxCrossEntropy, softTargetCrossEntropy, sigmoidCrossEntropy } from './autodiff/loss.ts';
export { type OptimizerConfig, type AdamWConfig, type SGDConfig } from './autodiff/optim.ts';

// Model
export {
  type ViTConfig, type Pool, type MlpKind, type PosResample, type ResNetV2Config, preset, presets, defaultConfig, checkConfig,
  gridSize, describeFamily, embeddingOutput, prefixTokens, tokenCount,
} from './model/config.ts';
export { parameterShapes, countParameters, forwardFlops } from './model/params.ts';
export {
  buildViT, tokensBefore, initializerParams, inputParams, encoderBlock, type BlockConfig, type BlockParts,
  type ViTValues,
} from './model/vit.ts';
export { inferenceGraph, prefixGraph, type ViTOutputName, type AttentionKernel } from './model/inference-graph.ts';
// CLIP's text tower (the ViT's encoder blocks under a causal mask), for zero-shot classification
export {
  type ClipTextConfig, type ClipTextValues, type ClipTextOutputName, type ClipTextGraphOptions, LEGACY_EOS_ID, buildClipText,
  clipTextGraph, clipTextParameterShapes, clipTextLinearLayers,
} from './model/clip-text.ts';
export { resamplePosEmbed, atResolution } from './model/pos-embed.ts';
export { initParameters } from './model/init.ts';
export { type Precision, type QuantizeOptions, precisions, quantizeWeights, quantizeLayers, dequantizeWeights, isQuantized } from './model/int8.ts';
export { FLOAT32_OPS, type Float16Options, float16Graph } from './model/fp16.ts';

// Training-step graphs (forward, loss, backward and optimizer update as one ONNX graph), and training them on an
// injected onnxruntime: `webEngine(ort)` over the onnxruntime-web module the page imported
export {
  buildStepGraph, buildEvalGraph, exampleInput, type GraphStart, type ExampleInput, type StepGraphOptions, type StepGraphSpec,
} from './model/step-graph.ts';
export { LORA_TARGETS, DEFAULT_LORA_TARGETS, loraShapes, mergeLora, withLoraAdapters, type LoraOptions, type LoraTarget } from './model/lora.ts';
export {
  TRAIN_ALL, TRAIN_HEAD, formatTrainSelection, parseTrainSelection, selectionRule, cachedStart, type CachedStart, type TrainSelection,
} from './model/trainable.ts';
export { TrainSession, type TrainSessionOptions, type StepResult, type EvalResult } from './runtime/train-session.ts';
export { FrozenPart } from './runtime/frozen-part.ts';
export { type Engine } from './runtime/engine.ts';
export { webEngine, type OrtWeb } from './runtime/web-engine.ts';
export { withNewHead } from './model/head.ts';
export {
  teach, teachSession, taughtWeights, teachSelection, teachLearningRate, classifyPixels, TEACH_LR, type TeachMode, type TeachOptions,
  type TeachProgress, type TeachBase,
} from './train/teach.ts';
export { learningRate, type Schedule, type ScheduleKind } from './train/schedule.ts';
export { Batches, type BatchOptions, type AugmentOptions } from './data/batches.ts';
export { imageSet, type ImageSet } from './data/image-set.ts';

// Checkpoints as bytes: safetensors, and vitkit's own (config, labels and preprocessing in the metadata)
export { decodeSafetensors, encodeSafetensors, type SafetensorsContent } from './weights/safetensors-codec.ts';
export { decodeVitkit, encodeVitkit, savedPreprocess } from './weights/vitkit-format.ts';
export { type CheckpointContent, type Preprocess } from './weights/checkpoint-types.ts';

// Preprocessing core (decoded pixels in, normalised tensor out) and ranking
export { preprocess, modelPixels, resolvePreprocessOptions, type PreprocessOptions, IMAGENET_MEAN, IMAGENET_STD } from './data/preprocess.ts';
export { type ResampleFilter } from './resample-taps.ts';
export { type RawImage } from './data/raw-image.ts';
export { topK, type Prediction } from './inference/top-k.ts';
export { attentionMap, headMaps, attentionLayers, registerShare } from './analysis/rollout.ts';
export { Rng } from './rng.ts';
export { UserError } from './errors.ts';
