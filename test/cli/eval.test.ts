// `vitkit eval` matches the data's classes to the checkpoint's by name: a class the checkpoint lacks is one line
// naming it and the checkpoint's classes; a checkpoint that names none is matched by position, and says so.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const GRAY = `${FIXTURES}micro_gray_p4_28`;
const dir = tempDir('cli-eval');
const folder = join(dir, 'folder');
for (const [c, img] of [['bird', 'img_0.png'], ['two', 'img_1.png']] as const) {
  mkdirSync(join(folder, c), { recursive: true });
  copyFileSync(join(GRAY, img), join(folder, c, img));
}

test('a class the checkpoint does not name is one line naming it and the checkpoint\'s classes', () => {
  const { config, weights } = loadCheckpoint(`${GRAY}/timm.safetensors`);
  const named = join(dir, 'named.safetensors');
  saveCheckpoint(named, { config, weights, labels: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] }, 'vitkit');
  const r = vitkit(['eval', '--checkpoint', named, '--data', folder, '--threads', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^vitkit: the data's class 'bird' is not one of the checkpoint's classes \(zero, one, two, .*, nine\): .*\n$/);
});

test('a checkpoint without class names is matched by position, and eval says so', () => {
  const r = vitkit(['eval', '--checkpoint', `${GRAY}/timm.safetensors`, '--data', folder, '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /timm\.safetensors names no classes: the data's 2 classes are matched to its outputs by position/);
  const json = vitkit(['eval', '--checkpoint', `${GRAY}/timm.safetensors`, '--data', folder, '--threads', '1', '--json']);
  assert.equal((JSON.parse(json.stdout) as { matched: string }).matched, 'position');
});
