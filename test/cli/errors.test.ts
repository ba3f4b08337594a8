// Bad input gives one line naming the file or value and what to do, a non-zero exit, and no stack trace.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-cli-'));
const hf = `${FIXTURES}micro_p16_224/hf`;
const image = `${FIXTURES}micro_p16_224/img_0.png`;

function expectOneLineError(args: string[], pattern: RegExp): void {
  const r = vitkit(args);
  assert.notEqual(r.status, 0, `exit status for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^vitkit: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('missing and corrupt images', () => {
  expectOneLineError(['predict', join(tmp, 'nope.jpg'), '--checkpoint', hf], /nope\.jpg.*(no such file|does not exist)/);
  const corrupt = join(tmp, 'corrupt.jpg');
  writeFileSync(corrupt, Buffer.from('\xff\xd8\xff\xe0 not really a jpeg', 'latin1'));
  expectOneLineError(['predict', corrupt, '--checkpoint', hf], /corrupt\.jpg/);
});

test('not-a-checkpoint and truncated safetensors', () => {
  const junk = join(tmp, 'junk.safetensors');
  writeFileSync(junk, 'hello world, definitely not safetensors');
  expectOneLineError(['info', junk], /junk\.safetensors/);
  const truncated = join(tmp, 'truncated.safetensors');
  const whole = readFileSync(`${FIXTURES}micro_p16_224/timm.safetensors`);
  writeFileSync(truncated, whole.subarray(0, whole.length - 1000));
  expectOneLineError(['predict', image, '--checkpoint', truncated], /truncated\.safetensors.*truncated/);
  expectOneLineError(['info', tmp], /is a directory without config\.json/);
});

test('wrong channel count, unknown arch, unknown command and flags', () => {
  expectOneLineError(['predict', image, '--checkpoint', hf, '--mean', '0.5,0.5'], /mean has 2 values but the images have 3 channel/);
  expectOneLineError(['bench', '--arch', 'vit_gigantic'], /unknown arch 'vit_gigantic'/);
  expectOneLineError(['train', '--backbone', '32,1-128'], /--backbone 32,1-128: expected STEM\[,BLOCKSxWIDTH…\] such as 32,1x128/);
  expectOneLineError(
    ['train', '--backbone', '30', '--json', '--out', join(tmp, 'stem30')],
    /backbone width 30 does not split into GroupNorm's 32 groups/,
  );
  expectOneLineError(
    ['train', '--depth', '0', '--json', '--out', join(tmp, 'depth0')],
    /depth must be a positive integer, got 0 \(depth 0 needs a backbone\)/,
  );
  expectOneLineError(['train', '--pool', 'max'], /--pool max: expected token or avg/);
  expectOneLineError(['train', '--eval-every', '1.5', '--out', join(tmp, 'eval1.5')], /--eval-every must be an integer ≥ 0, got '1.5'/);
  expectOneLineError(['frobnicate'], /unknown command 'frobnicate'/);
  expectOneLineError(['predict', '--frob'], /Unknown option '--frob'.*vitkit predict --help/);
});

test('a checkpoint without a head: predict and eval say to embed or fine-tune', () => {
  const features = checkConfig({ ...defaultConfig, imgSize: 16, patchSize: 8, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 0 });
  const headless = join(tmp, 'headless.safetensors');
  saveCheckpoint(headless, { config: features, weights: initParameters(features) }, 'vitkit');
  const fix = /headless\.safetensors has no classification head .*vitkit embed.*vitkit finetune/;
  expectOneLineError(['predict', image, '--checkpoint', headless], fix);
  expectOneLineError(['eval', '--checkpoint', headless, '--data', 'mnist'], fix);
});

test('--verbose shows the stack trace', () => {
  const r = vitkit(['info', join(tmp, 'missing.safetensors'), '--verbose']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /\n\s+at /);
});
