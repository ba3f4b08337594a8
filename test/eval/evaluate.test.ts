// Evaluation sources from datasets that hold only what evaluation needs: the test split alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.ts';
import { evalSource, evaluate } from '../../src/eval/evaluate.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { FIXTURES, tempDir } from '../data/helpers.ts';

const GRAY = join(FIXTURES, 'micro_gray_p4_28');

test('an IDX directory holding only the gzipped t10k files evaluates on them', async () => {
  const dir = tempDir('eval-idx');
  const n = 6;
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx(Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 13) % 256), [n, 28, 28])));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(Uint8Array.from({ length: n }, (_, i) => i), [n])));
  const model = loadModel(join(GRAY, 'timm.safetensors'));
  const source = await evalSource(dir, model.preprocess);
  assert.deepEqual([...source.labels], [0, 1, 2, 3, 4, 5]);
  const classifier = await Classifier.create(model, { threads: 1, outputs: ['logits'] });
  const r = await evaluate(classifier, source, 4);
  await classifier.release();
  assert.equal(r.n, n);
});

test('an ImageFolder holding only test/ (or only val/) evaluates on it', async () => {
  for (const split of ['test', 'val']) {
    const root = tempDir('eval-folder');
    for (const [c, img] of [['cat', 'img_0.png'], ['dog', 'img_1.png']] as const) {
      mkdirSync(join(root, split, c), { recursive: true });
      copyFileSync(join(GRAY, img), join(root, split, c, img));
    }
    const source = await evalSource(root, loadModel(join(GRAY, 'timm.safetensors')).preprocess);
    assert.deepEqual(source.classes, ['cat', 'dog']);
    assert.deepEqual([...source.labels], [0, 1]);
  }
});
