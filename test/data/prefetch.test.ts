// The worker-thread batch pipeline (src/data/prefetch.ts): the same batches, bit for bit, as the in-thread
// iterator, from any start position and with every augmentation on; errors and shutdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Batch, type BatchOptions, Batches } from '../../src/data/batches.ts';
import { imageSet } from '../../src/data/image-set.ts';
import { openBatchStream, shareImageSet } from '../../src/data/prefetch.ts';
import { UserError } from '../../src/errors.ts';

const N = 30;
const set = imageSet({
  name: 'toy',
  classes: ['a', 'b', 'c'],
  images: Uint8Array.from({ length: N * 3 * 8 * 8 }, (_, i) => (i * 13) % 251),
  labels: Int32Array.from({ length: N }, (_, i) => i % 3),
  channels: 3,
  height: 8,
  width: 8,
});
const everything: BatchOptions = {
  batchSize: 7,
  seed: 3,
  mean: [0.5],
  std: [0.25],
  augment: {
    padCrop: 1,
    flip: true,
    randomResizedCrop: { scale: [0.3, 1], ratio: [0.75, 4 / 3] },
    randAugment: { n: 2, m: 9 },
    mixup: 0.8,
    cutmix: 1,
    erasing: 0.5,
  },
  labelSmoothing: 0.1,
  noise: [{ name: 'mask.pos', shape: [5, 4], rate: 0.2 }],
};

function assertSame(a: Batch, b: Batch): void {
  assert.deepEqual([a.epoch, a.batch], [b.epoch, b.batch]);
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  assert.deepEqual(a.targets, b.targets);
  assert.deepEqual(a.mix, b.mix);
  assert.deepEqual(a.masks, b.masks);
}

test('two workers, lookahead 3: the in-thread batches bit for bit, across epochs, from a mid-epoch start', async () => {
  const start = { epoch: 1, batch: 2 };
  const stream = openBatchStream(set, everything, start, { workers: 2, lookahead: 3 });
  const ref = new Batches(set, everything, start);
  try {
    assert.equal(stream.batchesPerEpoch, 4);
    for (let i = 0; i < 10; i++) {
      assertSame(await stream.next(), ref.next());
      assert.deepEqual(stream.position(), ref.position());
    }
  } finally {
    await stream.close();
  }
  await assert.rejects(stream.next(), /closed/);
  await stream.close(); // twice is fine
});

test('workers 0 builds in this thread; bad options fail at once in the caller; the set is shared, not copied per worker', async () => {
  const inThread = openBatchStream(set, everything, undefined, { workers: 0 });
  assertSame(await inThread.next(), new Batches(set, everything).next());
  await inThread.close();
  assert.throws(
    () => openBatchStream(set, { batchSize: 31 }),
    (e: unknown) => e instanceof UserError && /30 images make no full batch of 31/.test(e.message),
  );
  assert.throws(() => openBatchStream(set, { batchSize: 4 }, undefined, { workers: -1 }), /workers -1 is invalid/);
  const shared = shareImageSet(set);
  assert.ok(shared.images.buffer instanceof SharedArrayBuffer);
  assert.equal(shareImageSet(set), shared);
  assert.equal(shareImageSet(shared), shared);
});
