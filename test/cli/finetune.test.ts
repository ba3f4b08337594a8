// `vitkit finetune` end to end: a pretrained checkpoint fine-tuned on an IDX dataset at another resolution, with
// what was adapted reported; and bad input answered with one line.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { tempDir, writeTinyIdx } from '../data/helpers.ts';
import { vitkit } from './run.ts';

const dir = tempDir('cli-finetune');
const data = join(dir, 'idx');
writeTinyIdx(data, { train: 16, test: 4, size: 8 });
const pretrained = join(dir, 'pre.safetensors');
const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 5,
});
saveCheckpoint(pretrained, { config, weights: initParameters(config) }, 'vitkit');

test('finetune at 12 px: says what it adapted, trains by steps with the paper defaults and regularisers', () => {
  const out = join(dir, 'run');
  const r = vitkit([
    'finetune', '--checkpoint', pretrained, '--data', data, '--img-size', '12', '--steps', '3', '--batch', '8',
    '--mixup', '0.2', '--dropout', '0.1', '--ema', '0.9', '--out', out, '--threads', '1',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /replaced the 5-class head with a zero-initialised 10-class head/); // IDX sets name the digits 0–9
  assert.match(r.stderr, /resampled the position embeddings from 2×2 to 3×3 patches \(8 → 12 px, patch 4 kept\)/);
  assert.match(r.stdout, /test accuracy \(EMA weights\) [\d.]+% .* after 3 steps/);
  assert.ok(existsSync(join(out, 'best.safetensors')));
  const { recipe } = loadTrainCheckpoint(out);
  assert.equal(recipe.init?.kind, 'pretrained');
  assert.deepEqual([recipe.steps, recipe.batch, recipe.gradAccum, recipe.clipNorm, recipe.schedule], [3, 8, 1, 1, 'cosine']);
  assert.deepEqual(recipe.optimizer, { kind: 'sgd', weightDecay: 0, momentum: 0.9 });
  assert.deepEqual([recipe.augment.mixup, recipe.dropout, recipe.ema, recipe.train], [0.2, 0.1, 0.9, { all: true }]);
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
  const r = vitkit([
    'finetune', '--checkpoint', pretrained, '--data', data, '--steps', '2', '--batch', '8', '--out', out,
    '--threads', '1', '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const epoch = lines.find((l) => l.kind === 'epoch')!;
  const result = lines.find((l) => l.kind === 'result')!;
  const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.kind === 'epoch')!;
  for (const key of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) assert.equal(epoch[key], logged[key], key);
  assert.ok(Number.isFinite(result.test_acc) && Number.isFinite(result.best_test_acc) && typeof result.out_dir === 'string');
  assert.deepEqual([...lines.flatMap((l) => Object.keys(l))].filter((k) => /[A-Z]/.test(k)), []);
});

test('--train lora:R with --lora-* and --save-adapters: best.safetensors is an adapter file every command loads merged', () => {
  const out = join(dir, 'lora');
  const args = ['--train', 'lora:4,head', '--lora-targets', 'qkv,fc1', '--lora-alpha', '8', '--save-adapters', '--steps', '2', '--batch', '8'];
  const r = vitkit(['finetune', '--checkpoint', pretrained, '--data', data, ...args, '--out', out, '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  const { recipe } = loadTrainCheckpoint(out);
  assert.deepEqual(recipe.train, { lora: { alpha: 8, targets: ['qkv', 'fc1'], rank: 4 } });
  const best = loadCheckpoint(join(out, 'best.safetensors'));
  assert.deepEqual([...best.weights.keys()], [...parameterShapes(best.config).keys()]);
  assert.equal(best.config.numClasses, 10);
  const info = vitkit(['info', join(out, 'best.safetensors'), '--json']);
  assert.equal(info.status, 0, info.stderr);
  const head = vitkit([
    'finetune', '--checkpoint', pretrained, '--data', data, '--freeze-backbone', '--steps', '1', '--batch', '8',
    '--out', join(dir, 'head'), '--threads', '1',
  ]);
  assert.equal(head.status, 0, head.stderr);
  assert.deepEqual(loadTrainCheckpoint(join(dir, 'head')).recipe.train, {}, '--freeze-backbone is --train head');
});

test('--train head (and last:K): trains on a frozen part computed once, or says in one line why not; --no-cache-features opts out', () => {
  const run = (name: string, ...flags: string[]) => {
    const r = vitkit([
      'finetune', '--checkpoint', pretrained, '--data', data, '--train', 'head', '--steps', '2', '--batch', '8',
      ...flags, '--out', join(dir, name), '--threads', '1',
    ]);
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };
  const cached = run('head-cached');
  assert.match(cached, /only the head trains: the frozen encoder's output is computed once per image/);
  const evaluated = vitkit(['eval', '--checkpoint', join(dir, 'head-cached', 'best.safetensors'), '--data', data]);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const flipped = run('head-flip', '--flip');
  assert.equal(flipped.match(/features are not cached/g)?.length, 1);
  assert.match(flipped, /^features are not cached: --flip make.* every epoch \(without them it is computed once\)$/m);
  assert.doesNotMatch(run('head-opted-out', '--no-cache-features'), /features|computed once/);
  const last = vitkit([
    'finetune', '--checkpoint', pretrained, '--data', data, '--train', 'last:1', '--steps', '2', '--batch', '8',
    '--out', join(dir, 'last-cached'), '--threads', '1',
  ]);
  assert.equal(last.status, 0, last.stderr);
  assert.match(last.stderr, /blocks 0… train: the tokens entering block 0 are computed once per image, and steps start there/);
});

test('what-to-train flags: bad values are one-line errors before anything loads', () => {
  const run = (...flags: string[]) => vitkit(['finetune', '--checkpoint', pretrained, '--data', data, ...flags, '--out', join(dir, 'never')]);
  for (const [flags, message] of [
    [['--train', 'lora'], /--train lora: 'lora' needs a positive integer \(e\.g\. lora:8\)/],
    [['--train', 'top:2'], /unknown part 'top:2' \(expected all\|head\|bias\|last:K\|lora:R/],
    [['--train', 'lora:4', '--lora-targets', 'qkv,k'], /--lora-targets: unknown layer 'k' \(expected qkv\|proj\|fc1\|fc2\)/],
    [['--train', 'last:2', '--lora-alpha', '8'], /--lora-\* options apply to --train lora:R; --train is last:2/],
    [['--save-adapters'], /--save-adapters keeps what a cheap fine-tune changed/],
    [['--freeze-backbone', '--train', 'bias'], /--freeze-backbone means --train head/],
  ] as const) {
    const r = run(...flags);
    assert.equal(r.status, 1, flags.join(' '));
    assert.match(r.stderr, new RegExp(`^vitkit: .*${message.source}.*\n$`, 'm'));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
