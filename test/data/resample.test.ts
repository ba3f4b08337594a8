import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resample } from '../../src/data/resample.ts';
import { rawImage } from '../../src/data/raw-image.ts';

test('constant images stay constant up and down, for both filters', () => {
  const flat = rawImage(new Uint8Array(30 * 20 * 3).fill(77), 30, 20, 3);
  for (const f of ['bilinear', 'bicubic'] as const) {
    for (const [w, h] of [[7, 5], [61, 47], [30, 9], [4, 20]]) {
      const r = resample(flat, w, h, f);
      assert.deepEqual([r.width, r.height, r.channels, r.data.length], [w, h, 3, w * h * 3]);
      assert.ok(r.data.every((v) => v === 77), `${f} ${w}x${h}`);
    }
  }
});

test('same size returns the input; bad sizes throw', () => {
  const img = rawImage(new Uint8Array(6), 3, 2, 1);
  assert.equal(resample(img, 3, 2, 'bicubic'), img);
  assert.throws(() => resample(img, 0, 2, 'bicubic'), /positive integers/);
});

test('shrinking antialiases: a 1-px checkerboard becomes mid-grey', () => {
  const checker = new Uint8Array(64 * 64).map((_, i) => (((i % 64) + Math.floor(i / 64)) % 2) * 255);
  const small = resample(rawImage(checker, 64, 64, 1), 16, 16, 'bicubic');
  assert.ok(small.data.every((v) => Math.abs(v - 127.5) < 3), `${small.data.slice(0, 8)}`);
});

const PIL_DOWN = [27, 125, 223];
const PIL_UP = [0, 21, 58, 92, 125, 158, 192, 229, 253];

test("matches Pillow's bicubic on a ramp (values computed with Pillow 12.3)", () => {
  // Image.fromarray(np.array([[0, 50, 100, 150, 200, 250]], np.uint8)).resize((3, 1), Image.BICUBIC) and (9, 1)
  const ramp = rawImage(Uint8Array.from([0, 50, 100, 150, 200, 250]), 6, 1, 1);
  assert.deepEqual([...resample(ramp, 3, 1, 'bicubic').data], PIL_DOWN);
  assert.deepEqual([...resample(ramp, 9, 1, 'bicubic').data], PIL_UP);
});
