// onnxruntime-node as a training engine (the main entry's): native threads, fetches filled in place, outputs left
// in GPU memory on request (webgpu).
import * as ort from 'onnxruntime-node';
import type { Engine } from './engine.ts';
import { ortSessionOptions } from './session.ts';

export const nodeEngine: Engine = {
  name: 'onnxruntime-node',
  Tensor: ort.Tensor,
  // training sessions neither spin nor plan a memory pattern by default: see SessionOptions.spin and .memoryPattern
  createSession: (model, opts) =>
    ort.InferenceSession.create(
      model,
      ortSessionOptions({ ...opts, spin: opts.spin ?? false, memoryPattern: opts.memoryPattern ?? false }),
    ),
  fillsFetches: true,
  deviceOutputs: true,
};
