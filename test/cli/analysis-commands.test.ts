// The inspection commands end to end through the CLI: exit codes, PNGs that decode, one-line errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { main as attention } from '../../src/cli/attention.ts';
import { main as evalCommand } from '../../src/cli/eval.ts';
import { main as plotCommand } from '../../src/cli/plot.ts';
import { tempDir } from '../data/helpers.ts';
import { VITKIT_ARGV } from './run.ts';
import { FIXTURES } from '../fixtures.ts';

const NOCLASS = fileURLToPath(new URL('../fixtures/analysis/noclass.safetensors', import.meta.url));
const P8 = `${FIXTURES}micro_p8_64_avg`;
const GRAY = `${FIXTURES}micro_gray_p4_28`;
const tmp = tempDir('cli-analysis');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function vitkit(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...VITKIT_ARGV, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function pngSize(path: string): Promise<[number, number]> {
  const m = await sharp(path).metadata();
  assert.equal(m.format, 'png', path);
  return [m.width!, m.height!];
}

/** A failed command: exit 1 and one line on stderr matching `message`. */
function assertUserError(r: Run, message: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, message);
}

test('vitkit --help lists the inspection commands', async () => {
  const r = await vitkit('--help');
  for (const c of ['attention', 'analyze', 'plot']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
});

test('attention: rollout from the class token, per-head grid, and the fallback for a model without one', async () => {
  const [withCls, noCls] = await Promise.all([
    vitkit(
      'attention', `${GRAY}/img_1.png`, '--checkpoint', `${GRAY}/hf`, '--out', join(tmp, 'gray.png'),
      '--heads-out', join(tmp, 'gray-heads.png'), '--layer', '0',
    ),
    vitkit('attention', `${P8}/img_0.png`, '--checkpoint', NOCLASS, '--heads', '2', '--out', join(tmp, 'nc.png'), '--style', 'mask', '--json'),
  ]);
  assert.equal(withCls.code, 0, withCls.stderr);
  assert.match(withCls.stdout, /attention rollout, class token → patches/);
  assert.equal(withCls.stderr, '');
  const [w, h] = await pngSize(join(tmp, 'gray.png'));
  assert.ok(w >= 2 * 280 && h >= 280, `${w}x${h}`); // input and overlay, 28 px shown at 280 px
  const [hw, hh] = await pngSize(join(tmp, 'gray-heads.png'));
  assert.ok(hw >= 3 * 280 && hh >= 2 * 280, `${hw}x${hh}`); // four heads, three to a row
  assert.equal(noCls.code, 0, noCls.stderr);
  assert.match(noCls.stderr, /has no class token: showing attention from the mean over the patch tokens/);
  const json = JSON.parse(noCls.stdout);
  assert.equal(json.readout, 'mean-tokens');
  assert.equal(json.grid, 4);
  assert.ok(Math.abs(json.map.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
  await pngSize(join(tmp, 'nc.png'));
});

test('attention: bad input gives one-line errors', async () => {
  const method = await vitkit(
    'attention', `${P8}/img_1.png`, '--checkpoint', NOCLASS, '--heads', '2', '--out', join(tmp, 'x.png'),
    '--method', 'head:9:0',
  );
  assertUserError(method, /^vitkit: attention method 'head:9:0' is out of range: the model has layers 0\.\.1 and heads 0\.\.1/);
  // The same UserErrors in process (the CLI prints their message as above).
  const image = `${P8}/img_1.png`;
  await assert.rejects(
    attention([image, '--checkpoint', NOCLASS, '--out', image]),
    /img_1\.png already exists: choose another output path or pass --force/,
  );
  await assert.rejects(attention([image, '--checkpoint', NOCLASS]), /--checkpoint PATH and --out PATH are required/);
  await assert.rejects(attention([image, image, '--checkpoint', NOCLASS, '--out', join(tmp, 'y.png')]), /give exactly one image, got 2/);
  await assert.rejects(
    attention([image, '--checkpoint', NOCLASS, '--out', join(tmp, 'y.png'), '--style', 'glow']),
    /unknown style 'glow' \(expected heat\|mask\)/,
  );
});

test('analyze writes the report; plot draws curves; both fail cleanly on bad input', async () => {
  const run = join(tmp, 'run');
  mkdirSync(run);
  const lines = [1, 2, 3].map((s) => JSON.stringify({ kind: 'step', step: s, epoch: 0, loss: 3 - s, acc: s / 4, lr: 0.001 * s }));
  writeFileSync(
    join(run, 'metrics.jsonl'),
    `${lines.join('\n')}\n${JSON.stringify({ kind: 'epoch', epoch: 0, step: 3, train_loss: 1, test_loss: 1.2, test_acc: 0.5 })}\n`,
  );
  const [analyze, plot, missing] = await Promise.all([
    vitkit('analyze', `${P8}/timm.safetensors`, '--heads', '3', '--out', join(tmp, 'report'), '--images', P8, '--json'),
    vitkit('plot', run),
    vitkit('plot', join(tmp, 'nope')),
  ]);
  assert.equal(analyze.code, 0, analyze.stderr);
  const summary = JSON.parse(analyze.stdout);
  assert.equal(summary.files.length, 6);
  assert.equal(summary.images, 2);
  assert.deepEqual(summary.attention_distance.map((l: number[]) => l.length), [3, 3, 3]);
  for (const f of summary.files.filter((f: string) => f.endsWith('.png'))) await pngSize(f);
  assert.equal(plot.code, 0, plot.stderr);
  assert.match(plot.stdout, /curves\.png: loss, acc, lr from 3 step, 1 epoch records/);
  const [pw, ph] = await pngSize(join(run, 'curves.png'));
  assert.ok(pw > 1000 && ph > 600, `${pw}x${ph}`);
  assertUserError(missing, /nope: no such file or directory: pass a run directory or its metrics\.jsonl/);
  await assert.rejects(plotCommand([run]), /curves\.png already exists/);
});

test('a hybrid: analyze (stem filters, with a note), attention rollout over its token grid, and embed', async () => {
  const R26 = `${FIXTURES}hybrid_r26_32`;
  const data = join(tmp, 'hybrid-data');
  for (const [split, c, img] of [['train', 'a', 0], ['train', 'b', 1], ['test', 'a', 0], ['test', 'b', 1]] as const) {
    mkdirSync(join(data, split, c), { recursive: true });
    copyFileSync(`${R26}/img_${img}.png`, join(data, split, c, 'x.png'));
  }
  const [analyze, rollout, embed] = await Promise.all([
    vitkit('analyze', `${R26}/google.npz`, '--out', join(tmp, 'hybrid-report'), '--images', R26, '--json'),
    vitkit('attention', `${R26}/img_0.png`, '--checkpoint', `${R26}/google.npz`, '--out', join(tmp, 'hybrid.png'), '--json'),
    vitkit('embed', '--checkpoint', `${R26}/timm.safetensors`, '--heads', '2', '--data', data, '--out', join(tmp, 'hybrid.jsonl')),
  ]);
  assert.equal(analyze.code, 0, analyze.stderr);
  const summary = JSON.parse(analyze.stdout);
  assert.equal(summary.images, 2);
  assert.ok(summary.notes.some((n: string) => /stem's 7×7 convolution/.test(n)));
  assert.equal(summary.filter_explained.length, 28);
  assert.equal(rollout.code, 0, rollout.stderr);
  assert.equal(JSON.parse(rollout.stdout).grid, 8);
  assert.equal(embed.code, 0, embed.stderr);
  const rows = readFileSync(join(tmp, 'hybrid.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { features: number[] });
  assert.deepEqual(rows.map((r) => r.features.length), [64, 64]);
});

test('eval --confusion draws the confusion matrix with class names', async () => {
  const data = join(tmp, 'digits');
  // named as the checkpoint names its classes (hf/config.json's id2label): eval matches classes by name
  for (const c of ['class_0', 'class_1']) {
    mkdirSync(join(data, c), { recursive: true });
    for (let i = 0; i < 2; i++) {
      await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 90 * i, g: 40, b: 200 } } })
        .png()
        .toFile(join(data, c, `${i}.png`));
    }
  }
  const out = join(tmp, 'confusion.png');
  const r = await vitkit('eval', '--checkpoint', `${FIXTURES}micro_gray_p4_28/hf`, '--data', data, '--confusion', out);
  assert.equal(r.code, 0, r.stderr);
  const [w, h] = await pngSize(out);
  assert.ok(w > 200 && h > 150, `${w}x${h}`);
  await assert.rejects(
    evalCommand(['--checkpoint', `${FIXTURES}micro_gray_p4_28/hf`, '--data', data, '--confusion', out]),
    /confusion\.png already exists/,
  );
});
