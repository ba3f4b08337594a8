// The shared model flags: --interpolation reaches the preprocessing of the commands that run a model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOptionsFromFlags } from '../../src/cli/args.ts';
import { loadModel } from '../../src/inference/classifier.ts';
import { FIXTURES } from '../fixtures.ts';
import { assertUserError } from '../weights/helpers.ts';
import { vitkit } from './run.ts';

const hf = `${FIXTURES}micro_p16_224/hf`;
const image = `${FIXTURES}micro_p16_224/img288_0.png`; // 288 px for a 224 model: resized

test('--interpolation: the filter predict resizes with (default: the checkpoint says, here bilinear)', () => {
  assert.equal(loadModel(hf, loadOptionsFromFlags({ interpolation: 'bicubic' })).preprocess.interpolation, 'bicubic');
  assert.equal(loadModel(hf).preprocess.interpolation, 'bilinear', "resample 2 in the folder's preprocessor_config.json");
  assertUserError(() => loadOptionsFromFlags({ interpolation: 'lanczos' }), /--interpolation must be bicubic or bilinear, got 'lanczos'/);
  const logits = (...flags: string[]): number[] => {
    const r = vitkit(['predict', image, '--checkpoint', hf, '--json', '--logits', ...flags]);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { logits: number[] }).logits;
  };
  const byDefault = logits();
  assert.deepEqual(logits('--interpolation', 'bilinear'), byDefault);
  assert.notDeepEqual(logits('--interpolation', 'bicubic'), byDefault);
});
