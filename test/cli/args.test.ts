// The shared model flags: --interpolation reaches the preprocessing of the commands that run a model, --pos-resample
// the position embeddings at another --img-size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ModelFlagValues, loadOptionsFromFlags } from '../../src/cli/args.ts';
import { loadModel } from '../../src/inference/classifier.ts';
import { resamplePosEmbed } from '../../src/model/pos-embed.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';
import { FAMILIES } from '../model/family-fixtures.ts';
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

test("--pos-resample: another --img-size resamples by the checkpoint's rule unless the flag names one", () => {
  const folder = `${FAMILIES}vit/hf`;
  const pos = (flags: ModelFlagValues) => loadModel(folder, loadOptionsFromFlags({ 'img-size': '42', ...flags })).weights.get('pos_embed')!;
  const hub = loadCheckpoint(folder);
  assert.equal(hub.config.posResample, 'transformers');
  assert.deepEqual(pos({}).data, resamplePosEmbed(hub.weights.get('pos_embed')!, 6, 1, 'transformers').data);
  assert.deepEqual(pos({ 'pos-resample': 'timm' }).data, resamplePosEmbed(hub.weights.get('pos_embed')!, 6, 1, 'timm').data);
  assertUserError(() => loadOptionsFromFlags({ 'pos-resample': 'pil' }), /--pos-resample must be timm or transformers, got 'pil'/);
  const r = vitkit(['predict', '--help']);
  assert.match(r.stdout, /--pos-resample R +timm\|transformers/);
});
