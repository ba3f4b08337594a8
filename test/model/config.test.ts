import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { defaultHeads, preset, presets } from '../../src/model/config.ts';

test('presets follow the paper table', () => {
  const b = preset('vit_base_patch16_224');
  assert.deepEqual([b.embedDim, b.depth, b.numHeads, b.mlpDim, b.patchSize, b.imgSize], [768, 12, 12, 3072, 16, 224]);
  const t = preset('vit_tiny_patch16_384');
  assert.deepEqual([t.embedDim, t.numHeads, t.imgSize], [192, 3, 384]);
  assert.equal(preset('vit_huge_patch14_224').numClasses, 0);
  assert.ok(Object.keys(presets).length >= 17);
});

test('overrides spread on top and are checked', () => {
  assert.equal(preset('vit_small_patch16_224', { numClasses: 10 }).numClasses, 10);
  assert.throws(() => preset('vit_small_patch16_224', { imgSize: 100 }), /imgSize 100 is not a multiple of patchSize 16/);
  assert.throws(() => preset('vit_small_patch16_224', { numHeads: 7 }), /not divisible by numHeads 7/);
  assert.throws(() => preset('vit_small_patch16_224', { classToken: false }), /pool 'token' needs classToken/);
});

test('unknown arch names the known ones', () => {
  assert.throws(
    () => preset('vit_gigantic'),
    (e: unknown) => e instanceof UserError && /unknown arch 'vit_gigantic' \(expected one of: vit_tiny_patch16_224/.test(e.message),
  );
});

test('heads from width by the standard table', () => {
  assert.deepEqual([192, 384, 768, 1024, 1280, 512].map(defaultHeads), [3, 6, 12, 16, 16, 8]);
});
