// vitkit's public library API. The CLI uses nothing that is not exported here.

// Everything that runs in a browser too: graph, ops, autodiff, model, step graphs, preprocessing core, ranking
export * from './browser.ts';

// Runtime
export { Session, type SessionOptions } from './runtime/session.ts';
// TrainSession itself comes from the browser entry; Node's engine for it is this one
export { nodeEngine } from './runtime/node-engine.ts';

// Weights
export { loadCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointFormat, type SaveFormat } from './weights/checkpoint.ts';
export { baseIdentity, saveAdapters, weightsHash, type AdapterSave, type BaseIdentity } from './weights/adapters.ts';
export { readSafetensors, writeSafetensors } from './weights/safetensors.ts';

// Data
export { decodeImage, preprocessFile, preprocessBatch } from './data/decode.ts';
export { loadDataset } from './data/load-dataset.ts';
export { type ImageSet, type Dataset } from './data/image-set.ts';
export { Batches, type Batch, type BatchOptions, type AugmentOptions } from './data/batches.ts';
export { openBatchStream, type BatchStream } from './data/prefetch.ts';
export { resizeImageSet } from './data/resize-set.ts';

// Inference and evaluation
export { loadModel, Classifier, classNames, type LoadedModel, type LoadOptions } from './inference/classifier.ts';
export { benchmarkInference } from './inference/benchmark.ts';
export { evaluate, evalSource } from './eval/evaluate.ts';
export { AccuracyMeter } from './eval/accuracy.ts';

// Frozen-feature evaluation (the paper's few-shot linear evaluation, kNN, linear probe)
export { extractFeatures } from './eval/features.ts';
export { fewShot } from './eval/fewshot.ts';
export { knnClassify } from './eval/knn.ts';
export { linearProbe } from './eval/linear-probe.ts';

// Training
export { train, type TrainRun, type TrainResult, type TrainEvent } from './train/trainer.ts';
export { type TrainRecipe, fashionMnistRecipe } from './train/recipe.ts';
export { adaptPretrained, loadPretrained, finetuneDefaults, type PretrainedModel } from './train/finetune.ts';
export { learningRate, type Schedule } from './train/schedule.ts';

// Inspection (the paper's Figures 6–7)
export { analyzeModel } from './analysis/analyze.ts';
export { posEmbedSimilarity } from './analysis/pos-embed-similarity.ts';
export { filterPCA } from './analysis/filter-pca.ts';

// Serving
export { createServer, DEFAULT_LIMITS } from './serve/server.ts';
export { Batcher } from './serve/batcher.ts';
