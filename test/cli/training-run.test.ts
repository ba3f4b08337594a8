// The run directory of `vitkit train` and `vitkit finetune`: --force replaces an old run only once every flag, the
// data and the checkpoint have been checked (a typo costs nothing), and --resume of a finished run reports its
// result instead of training (or printing NaN).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir, writeTinyIdx } from '../data/helpers.ts';
import { vitkit } from './run.ts';

const dir = tempDir('cli-training-run');
const data = join(dir, 'idx');
writeTinyIdx(data, { train: 16, test: 4, size: 8 });
const tiny = [
  '--data', data, '--patch', '4', '--dim', '16', '--depth', '1', '--heads', '2', '--mlp', '32', '--batch', '8',
  '--threads', '1', '--workers', '0',
];
const pretrained = join(dir, 'pre.safetensors');
const config = checkConfig({
  ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 2,
});
saveCheckpoint(pretrained, { config, weights: initParameters(config) }, 'vitkit');
const OLD_RUN = {
  'metrics.jsonl': '{"kind":"epoch","old":true}\n',
  'best.safetensors': 'old best',
  'checkpoints/step-0000005.safetensors': 'old checkpoint',
};

/** A directory holding a (stand-in) earlier run. */
function oldRun(name: string): string {
  const out = join(dir, name);
  mkdirSync(join(out, 'checkpoints'), { recursive: true });
  for (const [f, text] of Object.entries(OLD_RUN)) writeFileSync(join(out, f), text);
  return out;
}

function assertIntact(out: string, why: string): void {
  for (const [f, text] of Object.entries(OLD_RUN)) assert.equal(readFileSync(join(out, f), 'utf8'), text, `${f} after ${why}`);
  assert.deepEqual(readdirSync(join(out, 'checkpoints')), ['step-0000005.safetensors'], why);
}

function refused(args: string[], pattern: RegExp, out: string): void {
  const r = vitkit([...args, '--out', out, '--force']);
  assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, pattern, args.join(' '));
  assertIntact(out, args.join(' '));
}

test('train --force: a bad flag, dataset or model config leaves the old run intact; a good run replaces it', () => {
  const out = oldRun('train');
  refused(['train', ...tiny, '--lr', 'fast'], /--lr/, out);
  refused(['train', ...tiny, '--optimizer', 'adam'], /unknown optimizer 'adam'/, out);
  refused(['train', ...tiny, '--schedule', 'step'], /unknown schedule 'step'/, out);
  refused(['train', ...tiny, '--std', '0.5,x'], /--std/, out);
  refused(['train', ...tiny, '--heads', '3'], /not divisible by numHeads 3/, out); // 16 wide does not split into 3 heads: known after loading
  refused(['train', ...tiny, '--mean', '0.5,0.5,0.5'], /mean/, out); // 3 values for 1-channel images
  refused(['train', ...tiny, '--data', join(dir, 'missing')], /missing/, out);
  const r = vitkit(['train', ...tiny, '--steps', '1', '--json', '--out', out, '--force']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), /"old"/);
  assert.deepEqual(readdirSync(join(out, 'checkpoints')), ['step-0000001.safetensors']);
});

test('finetune --force: a bad flag, checkpoint or dataset leaves the old run intact', () => {
  const out = oldRun('finetune');
  const ft = ['finetune', '--checkpoint', pretrained, '--data', data, '--threads', '1', '--workers', '0'];
  refused([...ft, '--lr', 'fast'], /--lr/, out);
  refused([...ft, '--schedule', 'step'], /unknown schedule 'step'/, out);
  refused([...ft, '--batch', '8', '--accum', '3'], /not a multiple of --accum 3/, out);
  refused([...ft, '--img-size', '10'], /multiple of 4/, out);
  refused([...ft, '--mean', '0.5,0.5,0.5'], /mean/, out);
  refused(['finetune', '--checkpoint', join(dir, 'missing.safetensors'), '--data', data], /missing\.safetensors/, out);
  refused(['finetune', '--checkpoint', pretrained, '--data', join(dir, 'missing')], /missing/, out);
});

test('--resume of a finished run prints its result and exits 0, for train (by epochs) and finetune (by steps)', () => {
  const out = join(dir, 'finished');
  const first = vitkit(['train', ...tiny, '--epochs', '1', '--json', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const done = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  const r = vitkit(['train', '--resume', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /finished \(2 steps\): nothing to resume/);
  const pct = (x: unknown) => `${(100 * (x as number)).toFixed(2)}%`;
  assert.ok(r.stdout.includes(`test accuracy ${pct(done.test_acc)} (best ${pct(done.best_test_acc)}) after 2 steps\n`), r.stdout);
  assert.doesNotMatch(r.stdout + r.stderr, /NaN/);
  const json = vitkit(['train', '--resume', out, '--json']);
  const result = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual([result.status, result.step, result.test_acc, result.best_test_acc], ['finished', 2, done.test_acc, done.best_test_acc]);

  const ftOut = join(dir, 'finished-finetune');
  const ft = vitkit([
    'finetune', '--checkpoint', pretrained, '--data', data, '--steps', '1', '--batch', '8', '--threads', '1',
    '--out', ftOut, '--json',
  ]);
  assert.equal(ft.status, 0, ft.stderr);
  const again = vitkit(['finetune', '--resume', ftOut]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^test accuracy [\d.]+% \(best [\d.]+%\) after 1 steps\n/);
});
