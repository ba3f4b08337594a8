// timm's Hub folder: config.json (architecture + pretrained_cfg) beside model.safetensors or, in older repos,
// pytorch_model.bin; like a Hugging Face folder it reads only its own files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTimmDir } from '../../src/weights/timm-dir.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { TIMM_CONFIG } from '../hub/hub-server.ts';

const GRAY = join(FIXTURES, 'micro_gray_p4_28', 'timm.safetensors');
const GRAY_PTH = new URL('../fixtures/weights/micro_gray_p4_28.pth', import.meta.url).pathname;

function timmDir(weights: Record<string, string>, link = false): string {
  const dir = join(tempDir('timm-dir'), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(TIMM_CONFIG));
  for (const [name, src] of Object.entries(weights)) (link ? symlinkSync : copyFileSync)(src, join(dir, name));
  return dir;
}

test('pytorch_model.bin serves when there is no model.safetensors, with the same tensors', () => {
  const r = readTimmDir(timmDir({ 'pytorch_model.bin': GRAY_PTH }));
  for (const [name, t] of readSafetensors(GRAY).tensors) assert.deepEqual(r.weights.get(name)!.data, t.data, name);
  assert.deepEqual(r.preprocess?.mean, [0.5, 0.5, 0.5]);
});

test('weights linked from outside the folder are refused, naming the link', () => {
  assert.throws(() => readTimmDir(timmDir({ 'model.safetensors': GRAY }, true)), /model\.safetensors is a link to .*timm\.safetensors, outside /);
  assert.throws(() => readTimmDir(timmDir({})), /has timm's config\.json but neither model\.safetensors nor pytorch_model\.bin: re-download it/);
});
