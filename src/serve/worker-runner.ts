// Inference off the event loop: a BatchRunner backed by a worker thread (inference-worker.ts) that owns the model.
// onnxruntime-node runs a session synchronously on the calling thread, so a session on the server's own thread
// would stop it from parsing, decoding and preprocessing the next requests (and from answering /healthz) for as
// long as each batch runs; in a worker, those overlap with inference.
import { once } from 'node:events';
import { UserError } from '../errors.ts';
import type { LoadOptions } from '../inference/classifier.ts';
import { spawnTsWorker } from '../ts-worker.ts';
import type { InferenceWorkerInit, WorkerError, WorkerReply, WorkerRequest } from './inference-worker.ts';
import { type BatchRunner, type ImageOutputs, splitOutputs, stackImages } from './model-runner.ts';
import type { ServedModel } from './server.ts';

/** A model loaded in a worker thread: its description, a runner for the server, and how to stop it. */
export interface WorkerModel {
  readonly model: ServedModel;
  readonly runner: BatchRunner;
  /** Settles if the worker dies on its own (a crash): the process can no longer serve. */
  readonly failure: Promise<Error>;
  /** Releases the session and ends the worker. */
  close(): Promise<void>;
}

function asError(e: WorkerError): Error {
  return e.user ? new UserError(e.message) : new Error(e.message);
}

/**
 * Loads `checkpoint` (with the flags' `load` options) into a new worker thread with an onnxruntime session of
 * `threads` intra-op threads; resolves once it is ready to run batches. Checkpoint problems reject as UserErrors.
 */
export async function startInferenceWorker(checkpoint: string, opts: { load?: LoadOptions; threads?: number } = {}): Promise<WorkerModel> {
  const init: InferenceWorkerInit = { checkpoint, load: opts.load ?? {}, threads: opts.threads };
  const worker = spawnTsWorker(new URL('./inference-worker.ts', import.meta.url), init);
  const pending = new Map<number, { resolve: (r: { logits?: Float32Array; pooled: Float32Array }) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let closing = false;
  let failed: Error | null = null;
  let onFailure: (e: Error) => void = () => {};
  const failure = new Promise<Error>((resolve) => (onFailure = resolve));
  const fail = (e: Error): void => {
    if (closing || failed) return;
    failed = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    onFailure(e);
  };

  const model = await new Promise<ServedModel>((resolve, reject) => {
    worker.on('message', (msg: WorkerReply) => {
      if (msg.kind === 'ready') return resolve(msg.model);
      if (msg.kind === 'error' && msg.id === undefined) return reject(asError(msg.error));
      const p = pending.get(msg.id!);
      pending.delete(msg.id!);
      if (msg.kind === 'error') p?.reject(asError(msg.error));
      else p?.resolve(msg);
    });
    worker.on('error', (e) => (reject(e), fail(e)));
    worker.on('exit', (code) => {
      const e = new Error(`the inference worker exited unexpectedly (code ${code})`);
      reject(e);
      fail(e);
    });
  });

  const runner: BatchRunner = (images) =>
    new Promise<ImageOutputs[]>((resolve, reject) => {
      if (failed) return reject(failed);
      const x = stackImages(images);
      const id = nextId++;
      pending.set(id, { resolve: (r) => resolve(splitOutputs(images.length, r.pooled, r.logits)), reject });
      // the batch's buffer moves to the worker rather than being copied
      worker.postMessage({ kind: 'run', id, images: x.data, shape: x.shape } satisfies WorkerRequest, [x.data.buffer as ArrayBuffer]);
    });

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    const exited = once(worker, 'exit');
    worker.postMessage({ kind: 'stop' } satisfies WorkerRequest);
    await exited;
  };
  return { model, runner, failure, close };
}
