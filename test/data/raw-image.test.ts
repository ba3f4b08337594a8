import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawImage, toChannels, writeChw } from '../../src/data/raw-image.ts';

test("RGB→gray is PIL's ITU-R 601 luma in fixed point; gray→RGB replicates", () => {
  const rgb = rawImage(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30]), 4, 1, 3);
  assert.deepEqual([...toChannels(rgb, 1).data], [76, 150, 29, 124]);
  const gray = rawImage(Uint8Array.from([9, 200]), 2, 1, 1);
  assert.deepEqual([...toChannels(gray, 3).data], [9, 9, 9, 200, 200, 200]);
  assert.equal(toChannels(gray, 1), gray);
});

test('writeChw makes planes from interleaved pixels', () => {
  const img = rawImage(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 1, 3);
  const out = new Uint8Array(8);
  writeChw(img, out, 2);
  assert.deepEqual([...out], [0, 0, 1, 4, 2, 5, 3, 6]);
});

test('rawImage checks the byte count', () => {
  assert.throws(() => rawImage(new Uint8Array(5), 2, 1, 3), /needs 6/);
});
