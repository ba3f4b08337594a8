import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultDecay } from '../../src/autodiff/optim.ts';
import { Batches } from '../../src/data/batches.ts';
import { subset } from '../../src/data/image-set.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { UserError } from '../../src/errors.ts';
import { batchOrder, classFolders, exportRun, type RunToExport } from '../../src/export-run/export-run.ts';
import { initParameters } from '../../src/model/init.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { assertSameTensors } from '../weights/helpers.ts';
import { toyData, toyRecipe } from './helpers.ts';

const data = toyData;
const recipe = toyRecipe;
const init = initParameters(recipe.config, { seed: recipe.seed });
const run: RunToExport = { recipe, data, init, command: 'train', evalEvery: 1 };
const tmp = () => mkdtempSync(join(tmpdir(), 'vitkit-export-run-'));

test('the folder holds recipe.json (every hyperparameter resolved), timm weights, run.sh, train.py and a README', async () => {
  const out = join(tmp(), 'run');
  const r = await exportRun(out, run, { nproc: 4 });
  assert.deepEqual(r, { out, totalSteps: 7, stepsPerEpoch: 5, images: 49 });
  const j = JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'));
  assert.deepEqual(j.model.timm_kwargs, {
    img_size: 8, patch_size: 4, in_chans: 1, num_classes: 3, embed_dim: 16, depth: 1, num_heads: 2, mlp_ratio: 2, qkv_bias: true,
    class_token: true, global_pool: 'token', pos_drop_rate: 0.1, proj_drop_rate: 0.1, drop_path_rate: 0.2,
  });
  assert.equal(j.model.layer_norm_eps, recipe.config.layerNormEps);
  assert.deepEqual(j.optimizer, {
    kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.05, no_decay: [...init.keys()].filter((k) => !defaultDecay(k)),
  });
  assert.ok(
    j.optimizer.no_decay.includes('cls_token') &&
      j.optimizer.no_decay.includes('blocks.0.norm1.weight') &&
      !j.optimizer.no_decay.includes('head.weight'),
  );
  assert.deepEqual(j.schedule, { kind: 'cosine', lr: 1e-2, warmup_steps: 3, total_steps: 7 });
  for (const [k, v] of Object.entries({ batch: 8, grad_accum: 2, epochs: 2, steps: 7, steps_per_epoch: 5, total_steps: 7, start_step: 0, lr: 1e-2,
    clip_norm: 1, label_smoothing: 0.1, dropout: 0.1, drop_path: 0.2, ema: 0.99, seed: 7, eval_every: 1, command: 'train' })) {
    assert.equal(j[k], v, k);
  }
  assert.deepEqual(j.augment, recipe.augment);
  assert.deepEqual([j.mean, j.std], [[0.5], [0.25]]);
  assert.deepEqual(j.init_source, { kind: 'scratch' });
  assert.ok(j.resume === undefined && !existsSync(join(out, 'optimizer.safetensors')), 'a new run carries no optimizer state');
  assert.deepEqual(j.data.classes, data.train.classes);
  // timm's layout: the very weights vitkit starts from, under timm's names
  assertSameTensors(readSafetensors(join(out, 'init.safetensors')).tensors, init);
  assert.equal(JSON.parse(readFileSync(join(out, 'timm_config.json'), 'utf8')).model_args.num_heads, 2);
  const sh = readFileSync(join(out, 'run.sh'), 'utf8');
  for (const part of ['torchrun --nproc_per_node "${NPROC_PER_NODE:-4}"', '--nnodes "${NNODES:-1}"', '--node_rank "${NODE_RANK:-0}"',
    '--master_addr "${MASTER_ADDR:-127.0.0.1}"', 'train.py "$@"']) assert.ok(sh.includes(part), part);
  assert.equal(readFileSync(join(out, 'train.py'), 'utf8'), readFileSync(new URL('../../src/export-run/train.py', import.meta.url), 'utf8'));
  const readme = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(readme, /NNODES=4 NODE_RANK=/);
  assert.match(readme, /Not exact: dropout, stochastic depth, flip, padCrop/);
});

test('the data: an ImageFolder of the exact pixels, manifests and batch order in vitkit\'s order', async () => {
  const out = join(tmp(), 'run');
  await exportRun(out, run);
  // vitkit's own ImageFolder reader gets the same pixels back, class by class (class folders sort in label order)
  const back = await loadDataset(join(out, 'data'), { channels: 1 });
  for (const split of ['train', 'test'] as const) {
    const set = data[split];
    const byClass = [...set.labels.keys()].sort((a, b) => set.labels[a]! - set.labels[b]! || a - b);
    assert.deepEqual(back[split], { ...subset(set, byClass, back[split].name), classes: classFolders(set.classes) }, split);
    const rows = readFileSync(join(out, 'data', `${split}.tsv`), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, data[split].n);
    rows.forEach(([path, label], i) => {
      assert.equal(Number(label), data[split].labels[i]);
      assert.ok(existsSync(join(out, 'data', path!)), path);
    });
  }
  assert.deepEqual(classFolders(data.train.classes), ['0-T-shirt_top', '1-bag', '2-coat']);
  // two epochs (7 steps of 5 per epoch), each the first 5·8 of vitkit's permutation for that epoch
  const order = new Int32Array(Uint8Array.from(readFileSync(join(out, 'data', 'order.bin'))).buffer);
  const batches = new Batches(data.train, { batchSize: 8, seed: 7 });
  const drawn = Array.from({ length: 7 }, () => [...batches.next().indices]);
  assert.equal(order.length, 2 * 40);
  drawn.forEach((rows, s) => assert.deepEqual(rows, [...order.subarray(s * 8, s * 8 + 8)], `step ${s}`));
  assert.deepEqual(batchOrder(data.train, recipe, 2), order);
});

test('refuses what train.py cannot carry, and an existing folder without force', async () => {
  const dir = tmp();
  const partial: RunToExport = { ...run, recipe: { ...recipe, train: { bias: true } } };
  await assert.rejects(exportRun(join(dir, 'a'), partial), (e) => e instanceof UserError && /trains every parameter/.test(e.message));
  const hybrid = { ...run, recipe: { ...recipe, config: { ...recipe.config, backbone: { stemChs: 8, layers: [1], channels: [16] } } } };
  await assert.rejects(exportRun(join(dir, 'b'), hybrid), /hybrid/);
  assert.ok(!existsSync(join(dir, 'a')) && !existsSync(join(dir, 'b')), 'nothing written');
  writeFileSync(join(dir, 'c'), 'mine');
  await assert.rejects(exportRun(join(dir, 'c'), run), /exists|already/);
  assert.equal(readFileSync(join(dir, 'c'), 'utf8'), 'mine');
});

test("train.py's output (timm's Hub layout) loads back by folder and by its model.safetensors, without flags", async () => {
  const out = join(tmp(), 'run');
  await exportRun(out, run);
  // what train.py writes: model.safetensors (timm names) beside a copy of timm_config.json
  const output = join(out, 'output');
  const { mkdirSync, copyFileSync } = await import('node:fs');
  mkdirSync(output);
  copyFileSync(join(out, 'init.safetensors'), join(output, 'model.safetensors'));
  copyFileSync(join(out, 'timm_config.json'), join(output, 'config.json'));
  for (const path of [output, join(output, 'model.safetensors')]) {
    const c = loadCheckpoint(path);
    assert.equal(c.config.numHeads, 2, path); // shapes alone would say 1 head for a 16-wide model
    assertSameTensors(c.weights, init);
    assert.deepEqual([c.preprocess?.mean, c.preprocess?.std, c.labels], [[0.5], [0.25], data.train.classes], 'the run\'s normalisation and classes');
  }
});
