// A batch-building worker thread (see prefetch.ts): holds a Batches over the shared ImageSet and answers
// {id, epoch, batch} with that batch, its buffers transferred (moved, not copied) back to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Batches } from './batches.ts';
import type { Batch, BatchOptions } from './batches.ts';
import type { ImageSet } from './image-set.ts';

/** What the main thread hands a worker at start-up (the set's bytes live in SharedArrayBuffers). */
export interface WorkerInit {
  readonly set: ImageSet;
  readonly opts: BatchOptions;
}

export interface BatchRequest {
  readonly id: number;
  readonly epoch: number;
  readonly batch: number;
}

export type BatchReply = { readonly id: number; readonly batch: Batch } | { readonly id: number; readonly error: { name: string; message: string } };

/** Every buffer a batch owns, for the transfer list. */
function buffers(b: Batch): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [b.x.data, b.y.data, b.indices, ...(b.targets ? [b.targets.data] : []), ...(b.masks?.values() ?? [])];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

const port = parentPort!;
const { set, opts } = workerData as WorkerInit;
const batches = new Batches(set, opts);
port.on('message', (req: BatchRequest) => {
  let batch: Batch;
  try {
    batch = batches.at(req);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ id: req.id, error: { name: err.name, message: err.message } } satisfies BatchReply);
    return;
  }
  port.postMessage({ id: req.id, batch } satisfies BatchReply, buffers(batch));
});
