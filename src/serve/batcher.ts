// Dynamic batching: requests that arrive close together are run as one batch and answered one by one.
// One batch runs at a time because onnxruntime already spreads a single run over every core; requests that
// arrive during a run wait, and are taken together as soon as it ends (so batches grow with the load).

/** Why a submitted item was refused or abandoned; the server maps each to an HTTP status. */
export type BatcherErrorReason = 'queue-full' | 'timeout';

/** A refusal by the batcher itself (not a failure of the batch function). */
export class BatcherError extends Error {
  override name = 'BatcherError';
  constructor(
    readonly reason: BatcherErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface BatcherOptions {
  /** Most items per run. 1 turns batching off (each item runs alone, still one run at a time). */
  readonly maxBatch: number;
  /** How long the oldest waiting item may wait for others before a partial batch runs. */
  readonly maxWaitMs: number;
  /** Items allowed to wait (not counting the running batch); further submits fail with 'queue-full'. */
  readonly maxQueue: number;
}

/** Observers for metrics: called after every run with its size and duration. */
export interface BatcherHooks {
  onBatch?(size: number, ms: number): void;
}

interface Entry<I, O> {
  readonly item: I;
  readonly enqueuedAt: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/**
 * Groups items submitted concurrently into calls of `run(items)` (which must return one output per item, in
 * order) of at most `maxBatch` items, waiting at most `maxWaitMs` to fill one. A failing run rejects every item
 * in it; the batcher itself keeps going.
 */
export class Batcher<I, O> {
  private readonly queue: Entry<I, O>[] = [];
  private running = false;
  private draining = false;
  private timer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    readonly options: BatcherOptions,
    private readonly hooks: BatcherHooks = {},
  ) {
    const { maxBatch, maxWaitMs, maxQueue } = options;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
    if (!(maxWaitMs >= 0)) throw new Error(`maxWaitMs must be ≥ 0, got ${maxWaitMs}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new Error(`maxQueue must be a positive integer, got ${maxQueue}`);
  }

  /** Items waiting for a run (the running batch excluded). */
  get depth(): number {
    return this.queue.length;
  }

  /**
   * Queues one item and resolves with its output. Rejects with a BatcherError when the queue is full, or when
   * `timeoutMs` passes before the output is ready (a queued item is then dropped; a running one finishes but its
   * output is discarded).
   */
  submit(item: I, opts: { timeoutMs?: number } = {}): Promise<O> {
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new BatcherError('queue-full', `the queue is full (${this.options.maxQueue} waiting requests)`));
    }
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = { item, enqueuedAt: performance.now(), settled: false, resolve, reject };
      if (opts.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          settle(entry, () => reject(new BatcherError('timeout', `no result within ${opts.timeoutMs} ms`)));
          this.notifyIfIdle();
        }, opts.timeoutMs);
      }
      this.queue.push(entry);
      this.schedule();
    });
  }

  /**
   * From now on runs queued items without waiting for fuller batches, and resolves once nothing is queued or
   * running (for graceful shutdown: requests already accepted still get answered, promptly).
   */
  drain(): Promise<void> {
    this.draining = true;
    this.schedule();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Runs a batch now if one is due, else arms the timer for when the oldest item's wait runs out. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const waited = performance.now() - this.queue[0]!.enqueuedAt;
    const remaining = this.options.maxWaitMs - waited;
    if (this.draining || this.queue.length >= this.options.maxBatch || remaining <= 0) {
      void this.runBatch();
    } else {
      this.timer = setTimeout(() => this.schedule(), remaining);
    }
  }

  private async runBatch(): Promise<void> {
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.running = true;
    const start = performance.now();
    try {
      const outputs = await this.run(batch.map((e) => e.item));
      if (outputs.length !== batch.length) throw new Error(`batch function returned ${outputs.length} outputs for ${batch.length} items`);
      batch.forEach((e, i) => settle(e, () => e.resolve(outputs[i]!)));
    } catch (err) {
      for (const e of batch) settle(e, () => e.reject(err));
    } finally {
      this.hooks.onBatch?.(batch.length, performance.now() - start);
      this.running = false;
      this.schedule();
      this.notifyIfIdle();
    }
  }
}

/** Settles an entry once: a timeout and a late result must not both answer the same request. */
function settle<I, O>(e: Entry<I, O>, fn: () => void): void {
  if (e.settled) return;
  e.settled = true;
  clearTimeout(e.timer);
  fn();
}
