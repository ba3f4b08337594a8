// `vitkit finetune` end to end: a pretrained checkpoint fine-tuned on an IDX dataset at another resolution, with
// what was adapted reported; and bad input answered with one line.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir, writeTinyIdx } from '../data/helpers.ts';
import { vitkit } from './run.ts';

const dir = tempDir('cli-finetune');
const data = join(dir, 'idx');
writeTinyIdx(data, { train: 16, test: 4, size: 8 });
const pretrained = join(dir, 'pre.safetensors');
const config = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 5 });
saveCheckpoint(pretrained, { config, weights: initParameters(config) }, 'vitkit');

test('finetune at 12 px: says what it adapted, trains by steps with the paper defaults and regularisers', () => {
  const out = join(dir, 'run');
  const r = vitkit(['finetune', '--checkpoint', pretrained, '--data', data, '--img-size', '12', '--steps', '3', '--batch', '8', '--mixup', '0.2', '--dropout', '0.1', '--ema', '0.9', '--out', out, '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /replaced the 5-class head with a zero-initialised 10-class head/); // IDX sets name the digits 0–9
  assert.match(r.stderr, /resampled the position embeddings from 2×2 to 3×3 patches \(8 → 12 px, patch 4 kept\)/);
  assert.match(r.stdout, /test accuracy \(EMA weights\) [\d.]+% .* after 3 steps/);
  assert.ok(existsSync(join(out, 'best.safetensors')));
  const { recipe } = loadTrainCheckpoint(out);
  assert.equal(recipe.init?.kind, 'pretrained');
  assert.deepEqual([recipe.steps, recipe.batch, recipe.gradAccum, recipe.clipNorm, recipe.schedule], [3, 8, 1, 1, 'cosine']);
  assert.deepEqual(recipe.optimizer, { kind: 'sgd', weightDecay: 0, momentum: 0.9 });
  assert.deepEqual([recipe.augment.mixup, recipe.dropout, recipe.ema, recipe.freeze], [0.2, 0.1, 0.9, 'none']);
});

test('bad input gets one line: a resolution the patches do not divide, no checkpoint', () => {
  const r = vitkit(['finetune', '--checkpoint', pretrained, '--data', data, '--img-size', '10', '--out', join(dir, 'bad')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^vitkit: .*4-pixel patches: fine-tune at an --img-size that is a multiple of 4 \(got 10\)\n$/m);
  const none = vitkit(['finetune', '--data', data]);
  assert.match(none.stderr, /finetune: pass --checkpoint PRETRAINED/);
});

test('--json lines spell their keys as metrics.jsonl does (snake_case)', () => {
  const out = join(dir, 'json');
  const r = vitkit(['finetune', '--checkpoint', pretrained, '--data', data, '--steps', '2', '--batch', '8', '--out', out, '--threads', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const epoch = lines.find((l) => l.kind === 'epoch')!;
  const result = lines.find((l) => l.kind === 'result')!;
  const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.kind === 'epoch')!;
  for (const key of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) assert.equal(epoch[key], logged[key], key);
  assert.ok(Number.isFinite(result.test_acc) && Number.isFinite(result.best_test_acc) && typeof result.out_dir === 'string');
  assert.deepEqual([...lines.flatMap((l) => Object.keys(l))].filter((k) => /[A-Z]/.test(k)), []);
});
