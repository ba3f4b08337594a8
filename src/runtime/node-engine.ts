// onnxruntime-node as a training engine (the main entry's): native threads, fetches filled in place.
import * as ort from 'onnxruntime-node';
import type { Engine } from './engine.ts';
import { ortSessionOptions } from './session.ts';

export const nodeEngine: Engine = {
  name: 'onnxruntime-node',
  Tensor: ort.Tensor,
  // training sessions do not spin by default: see SessionOptions.spin
  createSession: (model, opts) => ort.InferenceSession.create(model, ortSessionOptions({ ...opts, spin: opts.spin ?? false })),
  fillsFetches: true,
};
