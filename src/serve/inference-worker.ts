// The inference worker thread (see worker-runner.ts): loads the checkpoint, holds the onnxruntime session, and
// answers each batch with its outputs. It exists because onnxruntime-node runs a session synchronously on the
// calling thread; here, that thread is not the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import { tensor } from '../graph/tensor.ts';
import { Classifier, type LoadOptions, loadModel } from '../inference/classifier.ts';
import type { ServedModel } from './server.ts';

/** What the main thread hands the worker at start-up. */
export interface InferenceWorkerInit {
  readonly checkpoint: string;
  readonly load: LoadOptions;
  readonly threads?: number;
}

/** Main thread → worker: a stacked [B, C, S, S] batch to run (its buffer transferred), or the order to stop. */
export type WorkerRequest =
  | { readonly kind: 'run'; readonly id: number; readonly images: Float32Array; readonly shape: readonly number[] }
  | { readonly kind: 'stop' };

/** A failure, with whether it is the user's (a bad checkpoint) so the CLI prints it as one line. */
export interface WorkerError {
  readonly message: string;
  readonly user: boolean;
}

/** Worker → main thread: the model's description once loaded, each batch's outputs, or an error (a batch's, or
 * loading's when `id` is absent). */
export type WorkerReply =
  | { readonly kind: 'ready'; readonly model: ServedModel }
  | { readonly kind: 'result'; readonly id: number; readonly logits?: Float32Array; readonly pooled: Float32Array }
  | { readonly kind: 'error'; readonly id?: number; readonly error: WorkerError };

const port = parentPort!;
const init = workerData as InferenceWorkerInit;

function toError(e: unknown): WorkerError {
  return { message: e instanceof Error ? e.message : String(e), user: e instanceof UserError };
}

try {
  const loaded = loadModel(init.checkpoint, init.load);
  const outputs = loaded.config.numClasses > 0 ? (['logits', 'pooled'] as const) : (['pooled'] as const);
  const classifier = await Classifier.create(loaded, { threads: init.threads, outputs });
  const { path, format, config, precision, labels, preprocess } = loaded;
  port.postMessage({
    kind: 'ready',
    model: { path, format, config, precision, labels, preprocess, device: classifier.device },
  } satisfies WorkerReply);
  port.on('message', async (req: WorkerRequest) => {
    if (req.kind === 'stop') {
      await classifier.release();
      port.close();
      return;
    }
    try {
      const out = await classifier.run(tensor('float32', req.shape, req.images));
      const logits = out.logits?.data as Float32Array | undefined;
      const pooled = out.pooled!.data as Float32Array;
      const reply: WorkerReply = { kind: 'result', id: req.id, pooled, ...(logits ? { logits } : {}) };
      port.postMessage(reply, [pooled.buffer as ArrayBuffer, ...(logits ? [logits.buffer as ArrayBuffer] : [])]);
    } catch (e) {
      port.postMessage({ kind: 'error', id: req.id, error: toError(e) } satisfies WorkerReply);
    }
  });
} catch (e) {
  port.postMessage({ kind: 'error', error: toError(e) } satisfies WorkerReply);
}
