// vitkit convert: preprocessing and class names travel with the model through every format that can hold them,
// a notice where one cannot or where the input does not say, --json, and one-line errors.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const tmp = tempDir('convert');
const timm = `${FIXTURES}micro_p16_224/timm.safetensors`;
const names = Array.from({ length: 10 }, (_, i) => `class ${String.fromCharCode(97 + i)}`);
const labelsFile = join(tmp, 'labels.txt');
writeFileSync(labelsFile, names.join('\n') + '\n');

function convert(args: string[]): { stdout: string; notes: string[] } {
  const r = vitkit(['convert', ...args]);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return { stdout: r.stdout, notes: r.stderr.split('\n').filter(Boolean) };
}

test('timm → hf → timm folder → vitkit keeps mean, std, crop, interpolation and class names', () => {
  const stated = ['--mean', '0.5', '--std', '0.5,0.5,0.5', '--crop-pct', '0.9', '--interpolation', 'bilinear', '--labels', labelsFile];
  const first = convert([timm, join(tmp, 'hf'), '--to', 'hf', '--heads', '2', ...stated, '--json']);
  assert.deepEqual(first.notes, [], 'stated by the flags: no notice');
  const json = JSON.parse(first.stdout);
  assert.deepEqual([json.input, json.output, json.to, json.from, json.onnx], [timm, join(tmp, 'hf'), 'hf', 'timm', false]);
  assert.ok(json.bytes > 600_000, `bytes ${json.bytes}`);
  const pp = JSON.parse(readFileSync(join(tmp, 'hf', 'preprocessor_config.json'), 'utf8'));
  assert.deepEqual([pp.image_mean, pp.image_std, pp.resample, pp.crop_pct], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 2, 0.9]);

  convert([join(tmp, 'hf'), join(tmp, 'timm'), '--to', 'timm']);
  const cfg = JSON.parse(readFileSync(join(tmp, 'timm', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.pretrained_cfg, {
    input_size: [3, 224, 224], num_classes: 10, interpolation: 'bilinear', crop_pct: 0.9, crop_mode: 'center',
    mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
  });
  assert.deepEqual(cfg.label_names, names);
  assert.equal(cfg.model_args.num_heads, 2);

  convert([join(tmp, 'timm'), join(tmp, 'back.safetensors'), '--to', 'vitkit']);
  const back = loadCheckpoint(join(tmp, 'back.safetensors'));
  assert.deepEqual(back.preprocess, {
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    resize: 'shorter-crop',
    cropPct: 0.9,
    imgSize: 224,
    interpolation: 'bilinear',
  });
  assert.deepEqual(back.labels, names);
  assert.equal(back.config.numHeads, 2);
  // quantize keeps them too (vitkit format), and may restate them
  const q = vitkit(['quantize', join(tmp, 'back.safetensors'), join(tmp, 'q.safetensors'), '--mean', '0.4,0.4,0.4']);
  assert.equal(q.status, 0, q.stderr);
  const int8 = loadCheckpoint(join(tmp, 'q.safetensors'));
  assert.deepEqual(
    [int8.preprocess?.mean, int8.preprocess?.std, int8.preprocess?.cropPct, int8.labels],
    [[0.4, 0.4, 0.4], [0.5, 0.5, 0.5], 0.9, names],
  );
});

test('a bare timm file: one notice naming the flags; outputs that cannot hold preprocessing say so', () => {
  const bare = convert([timm, join(tmp, 'plain.safetensors'), '--to', 'vitkit', '--heads', '2']);
  assert.equal(bare.notes.length, 1, bare.notes.join('\n'));
  assert.match(
    bare.notes[0]!,
    /^vitkit: note: .*timm\.safetensors does not say how its images were normalised: .*--mean\/--std.*--crop-pct, --interpolation$/,
  );
  assert.equal(loadCheckpoint(join(tmp, 'plain.safetensors')).preprocess, undefined, 'unstated stays unstated');
  // …also in a timm folder, where timm then assumes ImageNet's as vitkit does
  convert([timm, join(tmp, 'plain-timm'), '--to', 'timm', '--heads', '2']);
  const cfg = JSON.parse(readFileSync(join(tmp, 'plain-timm', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.pretrained_cfg, { input_size: [3, 224, 224], num_classes: 10 });

  const stated = ['--heads', '2', '--mean', '0.5', '--std', '0.5', '--crop-pct', '0.95', '--labels', labelsFile];
  const npz = convert([timm, join(tmp, 'g.npz'), '--to', 'npz', ...stated]);
  assert.deepEqual(npz.notes.length, 1);
  assert.match(npz.notes[0]!, /g\.npz: a Google \.npz cannot hold its preprocessing or its class names \(it reloads as mean\/std 0\.5\)/);
  // Google's own normalisation is what .npz reloads as: nothing to say
  assert.deepEqual(convert([timm, join(tmp, 'g2.npz'), '--to', 'npz', '--heads', '2', '--mean', '0.5', '--std', '0.5']).notes, []);
  const file = convert([timm, join(tmp, 'file.safetensors'), '--to', 'timm', ...stated]);
  assert.match(file.notes.join('\n'), /file\.safetensors: a bare timm \.safetensors cannot hold its preprocessing or class names: give a folder/);
});

test('bad preprocessing flags and label files are one-line errors, before anything is written', () => {
  const bad = (args: string[], pattern: RegExp) => {
    const r = vitkit(['convert', timm, join(tmp, 'never'), '--to', 'hf', '--heads', '2', ...args]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  };
  bad(['--mean', '0.5', '--std', '0.5', '--interpolation', 'nearest'], /--interpolation must be bicubic or bilinear, got 'nearest'/);
  bad(['--mean', '0.5,0.5', '--std', '0.5'], /mean has 2 values but the images have 3 channel/);
  bad(['--mean', '0.5', '--std', '0.5', '--crop-pct', '1.5'], /crop_pct 1\.5 is out of range/);
  writeFileSync(join(tmp, 'three.txt'), 'a\nb\nc\n');
  bad(
    ['--mean', '0.5', '--std', '0.5', '--labels', join(tmp, 'three.txt')],
    /three\.txt has 3 lines but the model has 10 classes: give one class name per line/,
  );
  bad(['--mean', '0.5', '--std', '0.5', '--labels', join(tmp, 'nope.txt')], /--labels .*nope\.txt cannot be read \(ENOENT\)/);
  assert.throws(() => readFileSync(join(tmp, 'never', 'config.json')));
});
