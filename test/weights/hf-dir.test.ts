import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { float32 } from '../../src/graph/tensor.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { readWeights } from '../../src/weights/hf-dir.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertUserError, tempDir } from './helpers.ts';

const root = tempDir();
const src = join(SHARED, 'micro_gray_p4_28', 'hf');
let n = 0;

/** A copy of the micro HF folder with `edit` applied to config.json and files added or replaced. */
function hfFolder(files: Record<string, string | Buffer> = {}, edit: (cfg: Record<string, unknown>) => void = () => {}): string {
  const dir = join(root, `hf${n++}`);
  mkdirSync(dir);
  for (const f of ['model.safetensors', 'preprocessor_config.json']) copyFileSync(join(src, f), join(dir, f));
  const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  return dir;
}

/** A sharded folder: the weights split over two files listed by an index whose entries are `names`. */
function sharded(names: [string, string]): string {
  const dir = hfFolder();
  rmSync(join(dir, 'model.safetensors'));
  const { tensors } = readSafetensors(join(src, 'model.safetensors'));
  const keys = [...tensors.keys()];
  const half = [new Map(keys.slice(0, 10).map((k) => [k, tensors.get(k)!])), new Map(keys.slice(10).map((k) => [k, tensors.get(k)!]))];
  const weightMap: Record<string, string> = {};
  half.forEach((part, i) => {
    writeSafetensors(join(dir, `model-0000${i + 1}-of-00002.safetensors`), part);
    for (const k of part.keys()) weightMap[k] = names[i]!;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  return dir;
}

test('sharded folders load through their index', () => {
  const dir = sharded(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.equal(loadCheckpoint(dir).config.depth, 2);
});

test('index entries must be plain file names inside the folder', () => {
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);
  copyFileSync(join(src, 'model.safetensors'), join(elsewhere, 'x.safetensors'));
  for (const bad of ['../elsewhere/x.safetensors', join(elsewhere, 'x.safetensors'), 'sub/x.safetensors', '..', '']) {
    const dir = sharded(['model-00001-of-00002.safetensors', bad]);
    assertUserError(() => loadCheckpoint(dir), /model\.safetensors\.index\.json names weight file/, /not a plain file name/);
  }
  const missing = sharded(['model-00001-of-00002.safetensors', 'model-00009-of-00009.safetensors']);
  assertUserError(() => loadCheckpoint(missing), /model-00009-of-00009\.safetensors.*does not exist/);
  const notString = sharded(['model-00001-of-00002.safetensors', 'x']);
  const index = join(notString, 'model.safetensors.index.json');
  const map = JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, unknown> };
  map.weight_map[Object.keys(map.weight_map)[0]!] = { path: 'x' };
  writeFileSync(index, JSON.stringify(map));
  assertUserError(() => loadCheckpoint(notString), /names weight file/);
});

test('symlinks leaving the folder are refused; links within it are fine', () => {
  const outside = join(root, 'outside.safetensors');
  copyFileSync(join(src, 'model.safetensors'), outside);
  const linked = hfFolder();
  rmSync(join(linked, 'model.safetensors'));
  symlinkSync(outside, join(linked, 'model.safetensors'));
  assertUserError(() => loadCheckpoint(linked), /model\.safetensors is a link to .*outside\.safetensors, outside /);
  const inside = hfFolder();
  renameSync(join(inside, 'model.safetensors'), join(inside, 'real.safetensors'));
  symlinkSync('real.safetensors', join(inside, 'model.safetensors'));
  assert.equal(loadCheckpoint(inside).format, 'hf');
});

test("a Hugging Face cache snapshot may link into its own model's blobs/, nowhere else", () => {
  const repo = join(root, 'hub', 'models--org--micro');
  const snapshot = join(repo, 'snapshots', 'abc123');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const f of ['config.json', 'preprocessor_config.json']) copyFileSync(join(src, f), join(snapshot, f));
  copyFileSync(join(src, 'model.safetensors'), join(repo, 'blobs', 'deadbeef'));
  symlinkSync('../../blobs/deadbeef', join(snapshot, 'model.safetensors'));
  assert.equal(loadCheckpoint(snapshot).format, 'hf');
  // another model's blobs are outside
  const other = join(root, 'hub', 'models--org--other', 'blobs');
  mkdirSync(other, { recursive: true });
  copyFileSync(join(src, 'model.safetensors'), join(other, 'cafe'));
  rmSync(join(snapshot, 'model.safetensors'));
  symlinkSync('../../../models--org--other/blobs/cafe', join(snapshot, 'model.safetensors'));
  assertUserError(() => loadCheckpoint(snapshot), /model\.safetensors is a link to .*models--org--other.*, outside /);
});

test('config.json values must agree with the weights before anything is built from them', () => {
  const cases: [(c: Record<string, unknown>) => void, RegExp][] = [
    [(c) => (c.hidden_size = 4096), /config\.json says hidden_size 4096 but the weights have 32/],
    [(c) => (c.num_hidden_layers = 1000), /config\.json says num_hidden_layers 1000 but the weights have 2/],
    [(c) => (c.image_size = 100000), /config\.json says image_size 100000 but the weights have 28/],
    [(c) => (c.num_attention_heads = 1e9), /num_attention_heads|numHeads/],
    [(c) => (c.num_attention_heads = -4), /numHeads must be a positive integer/],
    [(c) => (c.layer_norm_eps = -1), /config\.json has layer_norm_eps -1/],
  ];
  for (const [edit, pattern] of cases) assertUserError(() => loadCheckpoint(hfFolder({}, edit)), pattern);
  const pp = (v: unknown) => ({ 'preprocessor_config.json': JSON.stringify(v) });
  assertUserError(
    () => loadCheckpoint(hfFolder(pp({ image_mean: [0.5, 0.5, 0.5, 0.5], image_std: [0.5] }))),
    /preprocessor_config\.json has 4 image_mean values for 1 channel/,
  );
  assertUserError(() => loadCheckpoint(hfFolder(pp({ image_mean: [0.5], image_std: [0] }))), /preprocessor_config\.json has image_std 0/);
  assertUserError(
    () => loadCheckpoint(hfFolder(pp({ image_mean: [0.5], image_std: [0.5], size: 1e12 }))),
    /preprocessor_config\.json has size 1000000000000/,
  );
});

test('readWeights with keep reads only the shards that hold a kept tensor', () => {
  const dir = join(tempDir(), 'two-towers');
  mkdirSync(dir);
  writeSafetensors(join(dir, 'vision.safetensors'), new Map([['vision_model.w', float32([2], [1, 2])]]));
  writeFileSync(join(dir, 'text.safetensors'), 'not a safetensors file'); // never read when only vision is kept
  const weightMap = { 'vision_model.w': 'vision.safetensors', 'text_model.w': 'text.safetensors' };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  assert.deepEqual([...readWeights(dir, (n) => n.startsWith('vision_model.')).tensors.keys()], ['vision_model.w']);
  assertUserError(() => readWeights(dir), /text\.safetensors/);
});
