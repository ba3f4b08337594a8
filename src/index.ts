// vitkit's public library API. Every library name the CLI imports is exported here, except a few CLI-only helpers
// (output-file plumbing, the attention command's overlays, the serve/web processes, help-text defaults) that
// test/index.test.ts lists and checks.

// Everything that runs in a browser too: graph, ops, autodiff, model, step graphs, preprocessing core, ranking
export * from './browser.ts';

// Runtime
export { Session, type Device, type SessionOptions } from './runtime/session.ts';
// TrainSession itself comes from the browser entry; Node's engine for it is this one
export { nodeEngine } from './runtime/node-engine.ts';
export { type DeviceChoice, type ResolvedDevice, type WebGpuProbe, parseDevice, probeWebGpu, resolveDevice } from './runtime/devices.ts';

// Weights
export { loadCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointFormat, type SaveFormat } from './weights/checkpoint.ts';
export { baseIdentity, saveAdapters, weightsHash, type AdapterSave, type BaseIdentity } from './weights/adapters.ts';
export { readSafetensors, writeSafetensors } from './weights/safetensors.ts';

// Hugging Face Hub: download into the cache huggingface_hub shares (loadCheckpoint/loadModel then take the id or the folder)
export { pull, type PullOptions, type PullProgress, type PullResult } from './hub/pull.ts';
export { hubCacheDir, isHubId } from './hub/cache.ts';

// Data
export { decodeImage, preprocessFile, preprocessBatch } from './data/decode.ts';
export { loadDataset } from './data/load-dataset.ts';
export { type ImageSet, type Dataset } from './data/image-set.ts';
export { Batches, type Batch, type BatchOptions, type AugmentOptions } from './data/batches.ts';
export { openBatchStream, type BatchStream } from './data/prefetch.ts';
export { resizeImageSet } from './data/resize-set.ts';

// Inference and evaluation
export {
  loadModel, Classifier, classNames, modelDevice, defaultBatch, type ClassifierOptions, type LoadedModel, type LoadOptions,
} from './inference/classifier.ts';
export { attentionKernelFor } from './model/fused-attention.ts';
export { benchmarkInference } from './inference/benchmark.ts';
export { evaluate, evalSource } from './eval/evaluate.ts';
export { AccuracyMeter } from './eval/accuracy.ts';

// CLIP zero-shot classification: both towers of a CLIPModel folder, its BPE tokenizer, labels given as text
export {
  ZeroShotClassifier, DEFAULT_TEMPLATE, fillTemplate, zeroShotLogits, type ZeroShotLoadOptions, type ZeroShotPrediction,
  type LabelEmbeddings,
} from './inference/zero-shot.ts';
export { readClipText, type ClipTextCheckpoint } from './weights/clip-text.ts';
export { ClipTokenizer } from './text/clip-tokenizer.ts';

// Frozen-feature evaluation (the paper's few-shot linear evaluation, kNN, linear probe)
export { extractFeatures } from './eval/features.ts';
export { fewShot } from './eval/fewshot.ts';
export { knnClassify } from './eval/knn.ts';
export { linearProbe } from './eval/linear-probe.ts';

// Training
export { train, type TrainRun, type TrainResult, type TrainEvent } from './train/trainer.ts';
export { type TrainRecipe, fashionMnistRecipe } from './train/recipe.ts';
export { adaptPretrained, loadPretrained, finetuneDefaults, type PretrainedModel } from './train/finetune.ts';
export { exportRun, type RunToExport, type ExportedRun } from './export-run/export-run.ts';
export { continuedRun, type CarriedState } from './export-run/continued.ts';
export { tritonConfig, tritonRepository, type TritonModel, type TritonTensor } from './serve/triton.ts';
export { learningRate, type Schedule } from './train/schedule.ts';

// Inspection (the paper's Figures 6–7)
export { analyzeModel } from './analysis/analyze.ts';
export { posEmbedSimilarity } from './analysis/pos-embed-similarity.ts';
export { filterPCA } from './analysis/filter-pca.ts';

// Serving
export { createServer, DEFAULT_LIMITS } from './serve/server.ts';
export { Batcher } from './serve/batcher.ts';

// The rest of what the CLI builds on: resuming a run (loadTrainCheckpoint's result is train()'s `resume`; a finished
// run is not trained again), flags' allowed values and defaults, charts, and smaller pieces of the CLI's output
export { loadTrainCheckpoint, listCheckpoints, type TrainCheckpoint, type TrainProgress } from './train/checkpoints.ts';
export { isFinished, finishedResult } from './train/trainer.ts';
export { SCHEDULES } from './train/schedule.ts';
export { describeAdaptation } from './train/finetune.ts';
export { RRC_DEFAULTS } from './data/augment.ts';
export { subset } from './data/image-set.ts';
export { type Channels } from './data/raw-image.ts';
export { defaultHeads } from './model/config.ts';
export { describeBackbone } from './model/resnet-v2.ts';
export { checkpointBytes, unsavedBy } from './weights/checkpoint.ts';
export { encodeNpy } from './weights/npz.ts';
export { SPLITS, type Split, type ExtractedFeatures } from './eval/features.ts';
export { readMetrics, type TrainingCurves } from './analysis/training-curves.ts';
export { type AttentionMethod } from './analysis/rollout.ts';
export { chartToPng, confusionSpec, imageGridSpec, trainingCurvesSpec } from './analysis/charts.ts';
