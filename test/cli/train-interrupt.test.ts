// Ctrl-C on `vitkit train` as a user sends it: SIGINT to the CLI process mid-epoch saves a checkpoint and exits
// 130, and `--resume` then ends bit for bit where an uninterrupted run ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import { writeTinyIdx } from '../data/helpers.ts';
import { VITKIT_ARGV } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-sigint-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'idx');
writeTinyIdx(data, { train: 240, test: 20, size: 8 }); // counts are one byte in this helper
const STEPS_PER_EPOCH = 60; // 240 images / batch 4: long enough an epoch for the signal to land inside it
// a tiny ViT on 8×8 images for three epochs, in the main thread, with the flip/crop randomness resume must replay
const flags = [
  '--data', data, '--patch', '4', '--dim', '16', '--depth', '1', '--heads', '2', '--mlp', '32', '--batch', '4',
  '--epochs', '3', '--flip', '--pad-crop', '1', '--workers', '0', '--threads', '1', '--json',
];

interface Run {
  readonly code: number | null;
  readonly lines: Record<string, unknown>[];
}

/** Runs `vitkit train …`; `interrupt` sends SIGINT once the first epoch's JSON line appears (so mid-epoch 2). */
function train(args: string[], interrupt = false): Promise<Run> {
  const child = spawn(process.execPath, [...VITKIT_ARGV, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    if (interrupt && out.includes('"kind":"epoch"')) {
      interrupt = false;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      if (code !== 0 && code !== 130) console.error(err);
      resolve({ code, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) });
    });
  });
}

test('SIGINT mid-epoch exits 130 with a checkpoint; --resume continues bit for bit', { timeout: 300_000 }, async () => {
  const fullDir = join(tmp, 'full');
  const full = await train([...flags, '--out', fullDir]);
  assert.equal(full.code, 0);

  const out = join(tmp, 'interrupted');
  const first = await train([...flags, '--out', out], true);
  assert.equal(first.code, 130);
  const result = first.lines.at(-1)!;
  assert.equal(result.status, 'interrupted');
  const step = result.step as number;
  assert.ok(step > STEPS_PER_EPOCH && step < 3 * STEPS_PER_EPOCH && step % STEPS_PER_EPOCH !== 0, `stopped mid-epoch, at step ${step}`);
  const saved = loadTrainCheckpoint(out);
  assert.equal(saved.progress.step, step);

  const resumed = await train(['--resume', out, '--json', '--workers', '0', '--threads', '1']);
  assert.equal(resumed.code, 0);
  const a = loadTrainCheckpoint(fullDir).state;
  const b = loadTrainCheckpoint(out).state;
  assert.equal(loadTrainCheckpoint(out).progress.step, 3 * STEPS_PER_EPOCH);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, k);
  assert.equal(resumed.lines.at(-1)!.testAcc, full.lines.at(-1)!.testAcc);
});
