// Evaluation sources from datasets that hold only what evaluation needs (the test split alone), and the match of a
// dataset's classes to a checkpoint's by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { preprocessBatch } from '../../src/data/decode.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { evalSource, evaluate, matchClasses } from '../../src/eval/evaluate.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES, tempDir } from '../data/helpers.ts';

const GRAY = join(FIXTURES, 'micro_gray_p4_28');

test('an IDX directory holding only the gzipped t10k files evaluates on them', async () => {
  const dir = tempDir('eval-idx');
  const n = 6;
  writeFileSync(
    join(dir, 't10k-images-idx3-ubyte.gz'),
    gzipSync(
      encodeIdx(
        Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 13) % 256),
        [n, 28, 28],
      ),
    ),
  );
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

test('matchClasses: by name in any order and subset; by position only for a checkpoint without names', () => {
  const named = ['cat', 'dog', 'fish'];
  assert.deepEqual(matchClasses(['dog', 'fish'], named), { indices: Int32Array.from([1, 2]), byPosition: false });
  assert.deepEqual(matchClasses(['fish', 'cat'], named), { indices: Int32Array.from([2, 0]), byPosition: false });
  assert.throws(() => matchClasses(['dog', 'bird'], named), /the data's class 'bird' is not one of the checkpoint's classes \(cat, dog, fish\)/);
  const many = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
  assert.throws(() => matchClasses(['bird'], many), /\(class 0, .*class 11, … \(1000 in all\)\)/);
  // an ImageNet val folder is named by WordNet id: tench, goldfish and toilet tissue are classes 0, 1 and 999
  assert.deepEqual(matchClasses(['n15075141', 'n01440764', 'n01443537'], many), { indices: Int32Array.from([999, 0, 1]), byPosition: false });
  const unnamed = ['0', '1', '2'];
  assert.deepEqual(matchClasses(['2', '1'], unnamed), { indices: Int32Array.from([2, 1]), byPosition: false });
  assert.deepEqual(matchClasses(['cat', 'dog'], unnamed), { indices: Int32Array.from([0, 1]), byPosition: true });
  assert.throws(() => matchClasses(['a', 'b', 'c', 'd'], unnamed), /4 classes but the model's head has 3/);
});

test('a folder with two of a named checkpoint\'s ten classes is scored against those two', async () => {
  const dir = tempDir('eval-names');
  const labels = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const { config, weights } = loadCheckpoint(join(GRAY, 'timm.safetensors'));
  const named = join(dir, 'named.safetensors');
  saveCheckpoint(named, { config, weights, labels }, 'vitkit');
  const root = join(dir, 'folder'); // two of the ten classes: sorted, 'seven' is the folder's class 0
  for (const [c, img] of [['seven', 'img_0.png'], ['two', 'img_1.png']] as const) {
    mkdirSync(join(root, c), { recursive: true });
    copyFileSync(join(GRAY, img), join(root, c, img));
  }
  const model = loadModel(named);
  const classifier = await Classifier.create(model, { threads: 1, outputs: ['logits'] });
  const r = await evaluate(classifier, await evalSource(root, model.preprocess), 2);
  const { logits } = await classifier.run(await preprocessBatch([join(root, 'seven/img_0.png'), join(root, 'two/img_1.png')], model.preprocess));
  await classifier.release();
  const rowOf = (i: number) => Array.from((logits!.data as Float32Array).subarray(i * 10, (i + 1) * 10));
  const argmax = (i: number) => rowOf(i).indexOf(Math.max(...rowOf(i)));
  assert.deepEqual(r.classes, labels, "the confusion matrix is the checkpoint's classes");
  const rows = (k: number) => Array.from(r.confusion.subarray(k * 10, (k + 1) * 10));
  const onlyAt = (j: number) => Array.from({ length: 10 }, (_, i) => (i === j ? 1 : 0));
  assert.deepEqual([rows(7), rows(2)], [onlyAt(argmax(0)), onlyAt(argmax(1))]);
  assert.equal(r.confusion.reduce((a, b) => a + b, 0), 2, 'no image counted under another class');
  assert.equal(r.top1, ((argmax(0) === 7 ? 1 : 0) + (argmax(1) === 2 ? 1 : 0)) / 2);
  assert.equal(r.byPosition, false);
});
