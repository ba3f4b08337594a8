import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { listCheckpoints } from '../../src/train/checkpoints.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertSameTensors } from '../weights/helpers.ts';
import { vitkit } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'vitkit-export-run-cli-'));

/** A tiny split ImageFolder of 28×28 gray images: two classes, 6 training and 2 test images each. */
async function tinyFolder(): Promise<string> {
  const root = join(dir, 'tiny');
  for (const [split, n] of [['train', 6], ['test', 2]] as const) {
    for (const c of ['cat', 'dog']) {
      mkdirSync(join(root, split, c), { recursive: true });
      for (let i = 0; i < n; i++) {
        const px = Buffer.alloc(28 * 28, (c === 'cat' ? 40 : 200) + i * 3);
        await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, split, c, `${i}.png`));
      }
    }
  }
  return root;
}

test('export-run is in --help, and its own --help names train, finetune and --from', () => {
  assert.match(vitkit(['--help']).stdout, /export-run/);
  const r = vitkit(['export-run', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /vitkit export-run OUT \[options\] train/);
  assert.match(r.stdout, /--from RUN_DIR/);
});

test('flags that cannot carry into a PyTorch run are refused in one line, naming them, before anything is written', () => {
  const out = join(dir, 'refused');
  const r = vitkit(['export-run', out, 'train', '--threads', '2', '--device', 'cpu', '--no-cache-features', '--steps', '2']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--threads --device --no-cache-features do not carry into a PyTorch run/);
  assert.match(vitkit(['export-run', out]).stderr, /pass train FLAGS, finetune FLAGS or --from RUN_DIR/);
  assert.match(vitkit(['export-run', out, 'train', '--bogus']).stderr, /export-run train: Unknown option '--bogus'/);
  assert.ok(!existsSync(out));
});

test('train and finetune flags become recipe.json; finetune exports the adapted checkpoint (zero new head)', async () => {
  const data = await tinyFolder();
  const trainOut = join(dir, 'train-run');
  const t = vitkit(['export-run', trainOut, '--nproc', '2', '--json', 'train', '--data', data, '--steps', '4', '--batch', '4',
    '--dim', '16', '--depth', '1', '--heads', '2', '--mlp', '32', '--lr', '3e-3', '--label-smoothing', '0', '--flip']);
  assert.equal(t.status, 0, t.stderr);
  assert.deepEqual(JSON.parse(t.stdout), { kind: 'export-run', out: trainOut, total_steps: 4, steps_per_epoch: 3, images: 16 });
  const j = JSON.parse(readFileSync(join(trainOut, 'recipe.json'), 'utf8'));
  assert.deepEqual(
    [j.command, j.data.source, j.batch, j.lr, j.label_smoothing, j.augment.flip, j.data.classes],
    ['train', data, 4, 3e-3, 0, true, ['cat', 'dog']],
  );
  assert.match(readFileSync(join(trainOut, 'run.sh'), 'utf8'), /NPROC_PER_NODE:-2/);
  assert.equal(vitkit(['export-run', trainOut, 'train', '--data', data]).status, 1, 'an existing OUT needs --force');

  const ftOut = join(dir, 'finetune-run');
  const f = vitkit(['export-run', ftOut, 'finetune', '--checkpoint', join(SHARED, 'micro_gray_p4_28', 'timm.safetensors'), '--heads', '4',
    '--data', data, '--steps', '3', '--batch', '4']);
  assert.equal(f.status, 0, f.stderr);
  const fj = JSON.parse(readFileSync(join(ftOut, 'recipe.json'), 'utf8'));
  assert.equal(fj.init_source.kind, 'pretrained');
  assert.deepEqual([fj.optimizer.kind, fj.optimizer.momentum, fj.model.timm_kwargs.num_classes], ['sgd', 0.9, 2]);
  const w = readSafetensors(join(ftOut, 'init.safetensors')).tensors;
  assert.deepEqual(w.get('head.weight')!.shape, [2, fj.model.timm_kwargs.embed_dim]);
  assert.ok([...w.get('head.weight')!.data].every((v) => v === 0), 'the new head starts at zero');
});

test('--from RUN_DIR continues a vitkit run: its latest weights, recipe, step and optimizer state', async () => {
  const data = existsSync(join(dir, 'tiny')) ? join(dir, 'tiny') : await tinyFolder();
  const runDir = join(dir, 'vitkit-run');
  const t = vitkit([
    'train', '--data', data, '--steps', '5', '--batch', '4', '--dim', '16', '--depth', '1', '--heads', '2',
    '--mlp', '32', '--out', runDir, '--json',
  ]);
  assert.equal(t.status, 0, t.stderr);
  const out = join(dir, 'continued');
  const r = vitkit(['export-run', out, '--from', runDir]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'));
  assert.deepEqual([j.start_step, j.total_steps, j.batch, j.data.source], [5, 5, 4, data]);
  const latest = loadCheckpoint(listCheckpoints(runDir).at(-1)!); // the latest step's, not the best evaluation's
  assertSameTensors(readSafetensors(join(out, 'init.safetensors')).tensors, latest.weights);
  // AdamW's moments, under torch.optim's keys, and its step count (test/export-run/continued.test.ts checks every tensor)
  assert.deepEqual([j.resume.step, j.resume.optimizer], [5, 'optimizer.safetensors']);
  const moments = readSafetensors(join(out, 'optimizer.safetensors')).tensors;
  assertSameTensors(new Map([['exp_avg_sq.head.weight', moments.get('exp_avg_sq.head.weight')!]]),
    new Map([['exp_avg_sq.head.weight', latest.trainingState!.get('v.head.weight')!]]));
  assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /carries the run's whole training state at step 5/);
  assert.match(vitkit(['export-run', join(dir, 'x'), '--from', runDir, 'train']).stderr, /--from RUN_DIR or train flags, not both/);
});

test('--from a partial fine-tune is refused in one line, naming the checkpoint, and writes nothing', async () => {
  const data = existsSync(join(dir, 'tiny')) ? join(dir, 'tiny') : await tinyFolder();
  const runDir = join(dir, 'head-run');
  const f = vitkit(['finetune', '--checkpoint', join(SHARED, 'micro_gray_p4_28', 'timm.safetensors'), '--heads', '4', '--data', data,
    '--train', 'head', '--steps', '1', '--batch', '4', '--out', runDir, '--json']);
  assert.equal(f.status, 0, f.stderr);
  const out = join(dir, 'head-continued');
  const r = vitkit(['export-run', out, '--from', runDir]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /step-0000001\.safetensors: export-run trains every parameter: --train\/--freeze-backbone\/--lora-\* .* cannot be carried/);
  assert.ok(!existsSync(out));
});
