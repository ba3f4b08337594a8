import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, BatcherError } from '../../src/serve/batcher.ts';

/** A run function that doubles its inputs and records each batch; `gate` holds runs until opened. */
function doubler() {
  const batches: number[][] = [];
  let open: () => void = () => {};
  let gate: Promise<void> | null = null;
  return {
    batches,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
    run: async (xs: number[]) => {
      batches.push(xs);
      if (gate) await gate;
      return xs.map((x) => 2 * x);
    },
  };
}

test('concurrent items are grouped up to maxBatch and answered individually, in order', async () => {
  const d = doubler();
  const b = new Batcher(d.run, { maxBatch: 4, maxWaitMs: 20, maxQueue: 100 });
  const items = Array.from({ length: 10 }, (_, i) => i);
  const out = await Promise.all(items.map((x) => b.submit(x)));
  assert.deepEqual(out, items.map((x) => 2 * x));
  assert.deepEqual(d.batches, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
});

test('a lone item runs after maxWaitMs; items arriving during a run form the next batch', async () => {
  const d = doubler();
  const sizes: number[] = [];
  const b = new Batcher(d.run, { maxBatch: 8, maxWaitMs: 30, maxQueue: 10 }, { onBatch: (n) => sizes.push(n) });
  const t0 = performance.now();
  assert.equal(await b.submit(1), 2);
  assert.ok(performance.now() - t0 >= 25, 'waited for companions');
  d.hold();
  const first = b.submit(1);
  await new Promise((r) => setTimeout(r, 50)); // the first is now running, held
  const more = [2, 3, 4].map((x) => b.submit(x));
  assert.equal(b.depth, 3);
  d.release();
  assert.deepEqual(await Promise.all([first, ...more]), [2, 4, 6, 8]);
  assert.deepEqual(sizes, [1, 1, 3]);
});

test('a full queue refuses with queue-full; a timed-out item is dropped from the queue', async () => {
  const d = doubler();
  const b = new Batcher(d.run, { maxBatch: 1, maxWaitMs: 0, maxQueue: 2 });
  d.hold();
  const running = b.submit(1);
  const queued = [b.submit(2), b.submit(3, { timeoutMs: 30 })];
  await assert.rejects(b.submit(4), (e: unknown) => e instanceof BatcherError && e.reason === 'queue-full');
  await assert.rejects(queued[1]!, (e: unknown) => e instanceof BatcherError && e.reason === 'timeout');
  assert.equal(b.depth, 1);
  d.release();
  assert.deepEqual(await Promise.all([running, queued[0]]), [2, 4]);
  assert.deepEqual(d.batches, [[1], [2]], 'the timed-out item never ran');
});

test('a failing run rejects its own items only', async () => {
  let calls = 0;
  const b = new Batcher(
    async (xs: number[]) => {
      if (calls++ === 0) throw new Error('boom');
      return xs;
    },
    { maxBatch: 2, maxWaitMs: 0, maxQueue: 10 },
  );
  await assert.rejects(b.submit(1), /boom/);
  assert.equal(await b.submit(2), 2);
});

test('drain runs queued items at once and resolves when idle', async () => {
  const d = doubler();
  const b = new Batcher(d.run, { maxBatch: 8, maxWaitMs: 60_000, maxQueue: 10 });
  const pending = [b.submit(1), b.submit(2)];
  const t0 = performance.now();
  await b.drain();
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(await Promise.all(pending), [2, 4]);
  assert.deepEqual(d.batches, [[1, 2]]);
});

test('invalid options are refused', () => {
  const run = async (xs: number[]) => xs;
  assert.throws(() => new Batcher(run, { maxBatch: 0, maxWaitMs: 1, maxQueue: 1 }), /maxBatch/);
  assert.throws(() => new Batcher(run, { maxBatch: 1, maxWaitMs: -1, maxQueue: 1 }), /maxWaitMs/);
  assert.throws(() => new Batcher(run, { maxBatch: 1, maxWaitMs: 1, maxQueue: 0 }), /maxQueue/);
});
