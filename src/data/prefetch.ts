// Batches built ahead of the training step in worker threads, so data loading never starves the graph.
//
// Why workers: onnxruntime-node runs a session synchronously on the main thread (its promise only defers the
// call), so nothing else on that thread runs during a step. A batch is a pure function of (options, epoch, batch)
// (see batches.ts), so worker threads can build batches k+1 … k+L while step k runs, and they come out bit for bit
// as the in-thread Batches makes them. The images are shared, not copied: the ImageSet's bytes move into
// SharedArrayBuffers once, and every worker reads them; built batches are transferred back (no copy either).
// Lookahead is bounded (at most `lookahead` batches requested or waiting), so memory stays flat.
import type { Worker } from 'node:worker_threads';
import { UserError } from '../errors.ts';
import { spawnTsWorker } from '../ts-worker.ts';
import { type Batch, type BatchOptions, type BatchPosition, Batches, nextPosition } from './batches.ts';
import type { BatchReply, BatchRequest, WorkerInit } from './batch-worker.ts';
import type { ImageSet } from './image-set.ts';

/** A stream of training batches: the next one, the position to resume from, and a shutdown. */
export interface BatchStream {
  readonly batchesPerEpoch: number;
  /** The next batch (moving on to the next epoch after the last one). */
  next(): Promise<Batch>;
  /** The position of the batch `next()` yields next; save it to resume exactly. */
  position(): BatchPosition;
  /** Stops the workers; pending and later `next()` calls reject. Safe to call twice. */
  close(): Promise<void>;
}

export interface PrefetchOptions {
  /** Worker threads building batches; 0 builds each batch in this thread when asked. Default 1. */
  readonly workers?: number;
  /** Batches requested ahead of consumption. Default 2 per worker. */
  readonly lookahead?: number;
}

const sharedSets = new WeakMap<ImageSet, ImageSet>();

/** The set with its images and labels in SharedArrayBuffers (copied once per set), so workers read them in place. */
export function shareImageSet(set: ImageSet): ImageSet {
  if (set.images.buffer instanceof SharedArrayBuffer) return set;
  let shared = sharedSets.get(set);
  if (!shared) {
    const images = new Uint8Array(new SharedArrayBuffer(set.images.byteLength));
    images.set(set.images);
    const labels = new Int32Array(new SharedArrayBuffer(set.labels.byteLength));
    labels.set(set.labels);
    shared = { ...set, images, labels };
    sharedSets.set(set, shared);
  }
  return shared;
}

/**
 * Starts a worker running batch-worker.ts. vitkit runs TypeScript through tsx without a build step, and a worker
 * has its own module loader, so the worker registers tsx before importing its module (and inherits no loader
 * flags, which would register it twice).
 */
interface Pending {
  readonly resolve: (b: Batch) => void;
  readonly reject: (e: Error) => void;
}

/** Batches from worker threads, in order, `lookahead` ahead. */
class PrefetchedBatches implements BatchStream {
  readonly batchesPerEpoch: number;
  private pos: BatchPosition;
  private readonly queue: Promise<Batch>[] = [];
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  private failure: Error | null = null;

  constructor(set: ImageSet, opts: BatchOptions, start: BatchPosition, workers: number, private readonly lookahead: number) {
    // Built here first so that bad options fail in the caller's thread, with the caller's stack.
    const local = new Batches(set, opts, start);
    this.batchesPerEpoch = local.batchesPerEpoch;
    this.pos = local.position();
    const init: WorkerInit = { set: shareImageSet(set), opts };
    this.workers = Array.from({ length: workers }, () => {
      const w = spawnTsWorker(new URL('./batch-worker.ts', import.meta.url), init);
      w.on('message', (m: BatchReply) => this.settle(m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => this.fail(new Error(`a batch worker exited unexpectedly (code ${code})`)));
      return w;
    });
  }

  position(): BatchPosition {
    return this.pos;
  }

  async next(): Promise<Batch> {
    if (this.closed) throw new Error('the batch stream is closed');
    this.fill();
    const head = this.queue.shift()!;
    this.pos = nextPosition(this.pos, this.batchesPerEpoch, 1);
    this.fill();
    return head;
  }

  private fill(): void {
    while (this.queue.length < this.lookahead) {
      const { epoch, batch } = nextPosition(this.pos, this.batchesPerEpoch, this.queue.length);
      const id = this.nextId++;
      const p = new Promise<Batch>((resolve, reject) => {
        if (this.failure) reject(this.failure);
        else this.pending.set(id, { resolve, reject });
      });
      p.catch(() => {}); // a batch dropped at close() must not become an unhandled rejection
      this.queue.push(p);
      this.workers[id % this.workers.length]!.postMessage({ id, epoch, batch } satisfies BatchRequest);
    }
  }

  private settle(m: BatchReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('batch' in m) p.resolve(m.batch);
    else p.reject(m.error.name === 'UserError' ? new UserError(m.error.message) : new Error(m.error.message));
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Error('the batch stream is closed');
    for (const p of this.pending.values()) p.reject(stopped);
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The same stream built in this thread (workers 0): for tests, tiny sets and debugging. */
class InThreadBatches implements BatchStream {
  private readonly batches: Batches;
  private closed = false;

  constructor(set: ImageSet, opts: BatchOptions, start: BatchPosition) {
    this.batches = new Batches(set, opts, start);
  }

  get batchesPerEpoch(): number {
    return this.batches.batchesPerEpoch;
  }

  position(): BatchPosition {
    return this.batches.position();
  }

  async next(): Promise<Batch> {
    if (this.closed) throw new Error('the batch stream is closed');
    return this.batches.next();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Opens a stream of training batches from `start`: built by `workers` worker threads ahead of use (default 1), or
 * in this thread with `workers: 0`. Either way the batches are exactly those `new Batches(set, opts, start)` yields.
 */
export function openBatchStream(
  set: ImageSet,
  opts: BatchOptions,
  start: BatchPosition = { epoch: 0, batch: 0 },
  prefetch: PrefetchOptions = {},
): BatchStream {
  const workers = prefetch.workers ?? 1;
  if (!(Number.isInteger(workers) && workers >= 0)) throw new UserError(`workers ${workers} is invalid: pass a non-negative integer`);
  if (workers === 0) return new InThreadBatches(set, opts, start);
  const lookahead = prefetch.lookahead ?? 2 * workers;
  if (!(Number.isInteger(lookahead) && lookahead >= 1)) throw new UserError(`lookahead ${lookahead} is invalid: pass a positive integer`);
  return new PrefetchedBatches(set, opts, start, workers, lookahead);
}
