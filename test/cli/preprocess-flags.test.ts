// withPreprocessFlags: the flags replace what they name and keep the rest of what the checkpoint states; labels files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labelsFile, withPreprocessFlags } from '../../src/cli/preprocess-flags.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import type { CheckpointContent } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { assertUserError } from '../weights/helpers.ts';

const config = checkConfig({ ...defaultConfig, imgSize: 16, patchSize: 8, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 2 });
const hf: CheckpointContent = {
  config,
  weights: new Map(),
  preprocess: { mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6], resize: 'squash', imgSize: 16 },
};

/** stderr lines written while `fn` runs. */
function notes<T>(fn: () => T): { value: T; lines: string[] } {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => void lines.push(line);
  try {
    return { value: fn(), lines };
  } finally {
    console.error = original;
  }
}

test('flags replace what they name; a crop asks for timm transform; a stated checkpoint gets no notice', () => {
  const { value, lines } = notes(() => withPreprocessFlags(hf, 'in', { interpolation: 'bicubic' }));
  assert.deepEqual(value.preprocess, { ...hf.preprocess, interpolation: 'bicubic' });
  assert.deepEqual(lines, []);
  assert.deepEqual(withPreprocessFlags(hf, 'in', { 'crop-pct': '0.9', mean: '0.5' }).preprocess, {
    mean: [0.5, 0.5, 0.5], std: [0.4, 0.5, 0.6], resize: 'shorter-crop', imgSize: 16, cropPct: 0.9,
  });
  assert.deepEqual(withPreprocessFlags(hf, 'in', {}), hf, 'nothing given: as stated');
});

test('unstated: one notice unless both mean and std are given', () => {
  const bare: CheckpointContent = { config, weights: new Map() };
  const some = notes(() => withPreprocessFlags(bare, 'bare.safetensors', { mean: '0.5' }));
  assert.equal(some.lines.length, 1);
  assert.match(some.lines[0]!, /^vitkit: note: bare\.safetensors does not say how its images were normalised/);
  assert.deepEqual(some.value.preprocess, { mean: [0.5, 0.5, 0.5], std: [0.229, 0.224, 0.225], resize: 'shorter-crop' });
  const both = notes(() => withPreprocessFlags(bare, 'bare.safetensors', { mean: '0.5', std: '0.5' }));
  assert.deepEqual(both.lines, []);
});

test('labels files: one name per line (CRLF too), as many as classes', () => {
  const dir = tempDir('labels');
  writeFileSync(join(dir, 'crlf.txt'), 'cat\r\ndog\r\n');
  assert.deepEqual(labelsFile(join(dir, 'crlf.txt'), 2), ['cat', 'dog']);
  writeFileSync(join(dir, 'gap.txt'), 'cat\n\n');
  assertUserError(() => labelsFile(join(dir, 'gap.txt'), 2), /gap\.txt: line 2 is empty/);
  assertUserError(() => labelsFile(join(dir, 'crlf.txt'), 0), /no classifier head/);
});
