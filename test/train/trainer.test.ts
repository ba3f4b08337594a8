import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RRC_DEFAULTS } from '../../src/data/augment.ts';
import { type ImageSet, imageSet } from '../../src/data/image-set.ts';
import { UserError } from '../../src/errors.ts';
import type { StateDict } from '../../src/graph/tensor.ts';
import { defaultConfig } from '../../src/model/config.ts';
import { TRAIN_HEAD, selectionRule } from '../../src/model/trainable.ts';
import { initParameters } from '../../src/model/init.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { Rng } from '../../src/rng.ts';
import { listCheckpoints, loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import type { TrainRecipe } from '../../src/train/recipe.ts';
import { type TrainEvent, type TrainRun, isFinished, train } from '../../src/train/trainer.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';

/** Three classes of 8×8 gray images, told apart by texture within every patch: rows, columns, checks; plus noise. */
function toySet(n: number, seed: number, name: string): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let p = 0; p < 64; p++) {
      const [y, x] = [p >> 3, p & 7];
      const lit = c === 0 ? y % 2 === 0 : c === 1 ? x % 2 === 0 : (x + y) % 2 === 0;
      images[i * 64 + p] = Math.min(255, (lit ? 180 : 40) + Math.floor(rng.uniform() * 60));
    }
  }
  return imageSet({ name, classes: ['a', 'b', 'c'], images, labels, channels: 1, height: 8, width: 8 });
}

const data = { train: toySet(96, 1, 'toy/train'), test: toySet(30, 2, 'toy/test'), skipped: { malformed: 0, duplicates: 0 } };
const recipe: TrainRecipe = {
  config: { ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 3 },
  data: 'toy',
  epochs: 3,
  batch: 16,
  gradAccum: 1,
  optimizer: { kind: 'adamw', weightDecay: 0.05 },
  lr: 1e-2,
  schedule: 'cosine',
  warmupSteps: 3,
  clipNorm: 1,
  labelSmoothing: 0.1,
  seed: 7,
  augment: {},
  mean: [0.5],
  std: [0.5],
};
/** Augmentation changes the stripes' phase (a harder task), but exercises the seeded randomness resume must replay. */
const augmented: TrainRecipe = { ...recipe, augment: { flip: true, padCrop: 1 } };
const tmp = () => mkdtempSync(join(tmpdir(), 'vitkit-train-'));

type RunOptions = Partial<Omit<TrainRun, 'recipe' | 'data' | 'outDir' | 'signal' | 'resume'>>;

/**
 * Trains `recipe` in a new folder, interrupted once step `at` is done, then resumes it from that folder's checkpoint
 * to the end. `first` and `resumed` are each run's own options (workers, evalEvery, onEvent, ...).
 */
async function interruptAndResume(recipe: TrainRecipe, at: number, opts: { first?: RunOptions; resumed?: RunOptions } = {}) {
  const out = tmp();
  const controller = new AbortController();
  const { onEvent, ...first } = opts.first ?? {};
  const stopAt = (e: TrainEvent) => (onEvent?.(e), e.kind === 'step' && e.step === at && controller.abort());
  const interrupted = await train({ recipe, data, outDir: out, ...first, signal: controller.signal, onEvent: stopAt });
  const ckpt = loadTrainCheckpoint(out);
  const resume = { state: ckpt.state, progress: ckpt.progress };
  return { interrupted, ckpt, resumed: await train({ recipe: ckpt.recipe, data, outDir: out, ...opts.resumed, resume }) };
}

/** Two training checkpoints hold the same tensors, bit for bit; returns the first's state. */
function assertSameState(a: string, b: string): StateDict {
  const [x, y] = [loadTrainCheckpoint(a).state, loadTrainCheckpoint(b).state];
  assert.deepEqual([...y.keys()], [...x.keys()]);
  for (const [k, t] of x) assert.deepEqual(y.get(k)!.data, t.data, k);
  return x;
}

test('trains, logs metrics, keeps checkpoints and the best model', async () => {
  const out = tmp();
  const r = await train({ recipe, data, outDir: out, logEvery: 5 });
  assert.equal(r.status, 'done');
  assert.equal(r.step, 18);
  assert.ok(r.testAcc > 0.9, `toy task should be learnt, got ${r.testAcc}`);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  assert.equal(lines.filter((l) => l.kind === 'epoch').length, 3);
  assert.equal(lines.filter((l) => l.kind === 'step').length, 3);
  const best = loadCheckpoint(r.best);
  assert.equal(best.format, 'vitkit');
  assert.deepEqual(best.labels, ['a', 'b', 'c']);
  assert.equal(best.trainingState, undefined);
  const last = loadTrainCheckpoint(out);
  assert.equal(last.progress.step, 18);
  assert.ok(last.state.has('m.pos_embed') && last.state.has('optimizer.step'));
});

test('evalEvery skips evaluation on the epochs between, always evaluates the last step, and leaves training unchanged', async () => {
  const every = await train({ recipe, data, outDir: tmp() });
  const out = tmp();
  const events: TrainEvent[] = [];
  const sparse = await train({ recipe, data, outDir: out, evalEvery: 2, keep: 3, onEvent: (e) => e.kind !== 'step' && events.push(e) });
  assert.deepEqual(events.filter((e) => e.kind === 'evaluating').map((e) => e.epoch), [1, 2]);
  const epochs = events.filter((e) => e.kind === 'epoch');
  assert.deepEqual(epochs.map((e) => e.testAcc !== undefined), [false, true, true]);
  assert.ok(epochs.every((e) => Number.isFinite(e.trainLoss)));
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  assert.deepEqual(lines.filter((l) => l.kind === 'epoch').map((l) => 'test_acc' in l), [false, true, true]);
  assert.equal(listCheckpoints(out).length, 3, 'an epoch without evaluation still writes its checkpoint');
  assert.equal(sparse.testAcc, every.testAcc);
  assertSameState(every.checkpoint, sparse.checkpoint);
  const evaluated: number[] = [];
  const endOnly = await train({ recipe, data, outDir: tmp(), evalEvery: 0, onEvent: (e) => e.kind === 'evaluating' && evaluated.push(e.epoch) });
  assert.deepEqual(evaluated, [2], 'evalEvery 0: only the last step evaluates');
  assert.equal(endOnly.testAcc, every.testAcc);
  assert.equal(endOnly.bestTestAcc, endOnly.testAcc);
  assert.ok(existsSync(endOnly.best), 'the one evaluation writes best.safetensors');
  await assert.rejects(train({ recipe, data, outDir: tmp(), evalEvery: 1.5 }), /evalEvery must be an integer ≥ 0, got 1.5/);
});

test('a run evaluating every 2 epochs, interrupted and resumed, evaluates the same epochs and ends where it would have', async () => {
  const evaluated: number[] = [];
  const onEvent = (e: TrainEvent) => e.kind === 'evaluating' && evaluated.push(e.epoch);
  const full = await train({ recipe, data, outDir: tmp(), evalEvery: 2 });
  const { resumed } = await interruptAndResume(recipe, 8, { first: { evalEvery: 2, onEvent }, resumed: { evalEvery: 2, onEvent } });
  assert.deepEqual(evaluated, [1, 2]);
  assert.equal(resumed.testAcc, full.testAcc);
  assert.equal(resumed.bestTestAcc, full.bestTestAcc);
});

test('an interrupted and resumed run ends bit-for-bit where an uninterrupted one does', async () => {
  const full = await train({ recipe: augmented, data, outDir: tmp() });
  const { interrupted, resumed } = await interruptAndResume(augmented, 8); // mid-epoch 2
  assert.equal(interrupted.status, 'interrupted');
  assert.equal(interrupted.step, 8);
  assert.equal(resumed.status, 'done');
  assertSameState(full.checkpoint, resumed.checkpoint);
  assert.equal(resumed.testAcc, full.testAcc);
});

test('with every augmentation and regulariser on, a resumed run is bit-for-bit the uninterrupted one, in or out of worker threads', async () => {
  const all: TrainRecipe = {
    ...recipe,
    steps: 9, // 6 steps per epoch: evaluations at steps 6 and 9
    augment: { flip: true, padCrop: 1, randomResizedCrop: RRC_DEFAULTS, randAugment: { n: 2, m: 5 }, mixup: 0.8, cutmix: 1, erasing: 0.25 },
    dropout: 0.1,
    dropPath: 0.1,
    ema: 0.9,
  };
  const full = await train({ recipe: all, data, outDir: tmp(), workers: 0 });
  assert.equal(full.step, 9);
  const { interrupted, ckpt, resumed } = await interruptAndResume(all, 4, { first: { workers: 2 } });
  assert.equal(interrupted.step, 4);
  assert.deepEqual(ckpt.recipe, all);
  assert.ok(assertSameState(full.checkpoint, resumed.checkpoint).has('ema.head.weight'));
  assert.equal(resumed.testAcc, full.testAcc);
});

test('a diverging run stops with a clear error and writes no NaN checkpoint', async () => {
  const out = tmp();
  await assert.rejects(
    train({ recipe: { ...recipe, lr: 1e30, clipNorm: 0, epochs: 2 }, data, outDir: out }),
    (e: unknown) => e instanceof UserError && /training diverged: loss is NaN at step \d+ .*lower --lr/.test(e.message),
  );
  assert.deepEqual(listCheckpoints(out), []);
});

test('data that do not fit the model are refused before training', async () => {
  const wrong = { ...recipe, config: { ...recipe.config, imgSize: 12, patchSize: 4 } };
  await assert.rejects(train({ recipe: wrong, data, outDir: tmp() }), /images are 8×8 but the model takes 12×12: pass --img-size 8/);
  const classes = { ...recipe, config: { ...recipe.config, numClasses: 5 } };
  await assert.rejects(train({ recipe: classes, data, outDir: tmp() }), /3 classes but the model's head has 5/);
});

test('a hybrid (stem-only ResNetV2 tokens) trains, its loss falls, and resumes bit-for-bit', async () => {
  const hybrid: TrainRecipe = {
    ...recipe,
    // 8 px → 32-channel stem → 2×2 feature map → 1×1 projection: 4 tokens.
    config: { ...recipe.config, patchSize: 1, backbone: { stemChs: 32, layers: [], channels: [] } },
    epochs: 3,
  };
  const losses: number[] = [];
  const full = await train({
    recipe: hybrid,
    data,
    outDir: tmp(),
    workers: 0,
    logEvery: 1,
    onEvent: (e) => e.kind === 'step' && losses.push(e.loss),
  });
  assert.equal(losses.length, 18);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `loss ${losses.join(', ')}`);
  const { ckpt, resumed } = await interruptAndResume(hybrid, 7, { first: { workers: 0 }, resumed: { workers: 0 } });
  assert.deepEqual(ckpt.recipe.config.backbone, hybrid.config.backbone);
  assert.ok(assertSameState(full.checkpoint, resumed.checkpoint).has('m.patch_embed.backbone.conv.weight'));
});

test('resuming a finished run returns its logged result without training; replace clears an old run only once checked', async () => {
  const out = tmp();
  const done = await train({ recipe: { ...recipe, epochs: 1 }, data, outDir: out });
  const saved = loadTrainCheckpoint(out);
  assert.equal(isFinished(saved.recipe, saved.progress), true);
  const again = await train({ recipe: saved.recipe, data, outDir: out, resume: saved });
  assert.deepEqual(again, { ...done, status: 'finished', seconds: 0 });
  assert.deepEqual(listCheckpoints(out), [saved.path], 'nothing trained or saved again');
  assert.equal(isFinished({ epochs: 2 }, saved.progress), false);
  assert.equal(isFinished({ epochs: 9, steps: 6 }, saved.progress), true);

  const bad = { ...recipe, config: { ...recipe.config, imgSize: 16 } }; // the data are 8×8: refused
  await assert.rejects(train({ recipe: bad, data, outDir: out, replace: true }), /pass --img-size 8/);
  assert.deepEqual(listCheckpoints(out), [saved.path], 'a refused run leaves the old one');
  await train({ recipe: { ...recipe, steps: 1 }, data, outDir: out, replace: true });
  assert.deepEqual(listCheckpoints(out).map((p) => p.slice(-24)), ['step-0000001.safetensors']);
});

test('LoRA (with adapter dropout and EMA): resumes bit for bit; checkpoints hold the merged model, the base stays frozen', async () => {
  const lora: TrainRecipe = { ...recipe, steps: 9, train: { lora: { rank: 2, alpha: 4, targets: ['qkv', 'fc1'], dropout: 0.1 } }, ema: 0.9 };
  const full = await train({ recipe: lora, data, outDir: tmp() });
  const { resumed } = await interruptAndResume(lora, 4);
  const a = assertSameState(full.checkpoint, resumed.checkpoint);
  assert.equal(resumed.testAcc, full.testAcc);
  const init = initParameters(lora.config, { seed: lora.seed });
  const qkv = 'blocks.0.attn.qkv.weight';
  assert.deepEqual(a.get(qkv)!.data, init.get(qkv)!.data, 'the adapted layer’s own weight is frozen');
  assert.ok(a.has('blocks.0.mlp.fc1.lora_B') && a.has('m.blocks.0.mlp.fc1.lora_A') && !a.has('m.blocks.0.attn.qkv.weight'));
  for (const path of [full.checkpoint, full.best]) {
    const model = loadCheckpoint(path);
    assert.deepEqual([...model.weights.keys()], [...parameterShapes(lora.config).keys()], `${path} is a plain model`);
    assert.notDeepEqual(model.weights.get(qkv)!.data, init.get(qkv)!.data, 'with the trained adapters merged in');
  }
});

for (const [what, train_, depth] of [['head', TRAIN_HEAD, 1], ['last:1 of 2 blocks', { lastBlocks: 1 }, 2]] as const) {
  test(`${what} on a cached frozen part: the uncached run's weights to float rounding, whole-model checkpoints, exact resume`, async () => {
    const config = { ...recipe.config, depth };
    // 6 steps an epoch: evaluations at 6 and 9; last:K with two micro-batches a step (accumulated gradients)
    const cut: TrainRecipe = { ...recipe, config, steps: 9, train: train_, ema: 0.9, gradAccum: depth };
    const events: TrainEvent[] = [];
    const cached = await train({ recipe: cut, data, outDir: tmp(), onEvent: (e) => events.push(e) });
    const uncached = await train({ recipe: cut, data, outDir: tmp(), cacheFeatures: false });
    const passes = events.filter((e) => e.kind === 'features' && e.done === e.total).map((e) => e.kind === 'features' && [e.split, e.total, e.start]);
    const start = depth === 1 ? 'features' : { block: 1 };
    assert.deepEqual(passes, [['train', 96, start], ['test', 30, start]], 'one pass over each split, before training');
    assert.ok(!events.some((e) => e.kind === 'uncached'));
    const a = loadTrainCheckpoint(cached.checkpoint).state;
    const b = loadTrainCheckpoint(uncached.checkpoint).state;
    assert.deepEqual([...a.keys()], [...b.keys()]);
    const init = initParameters(config, { seed: cut.seed });
    const trains = selectionRule(config, train_)!;
    for (const [k, t] of a) {
      if (t.dtype !== 'float32') continue; // the step count
      if (init.has(k) && !trains(k)) assert.deepEqual(t.data, init.get(k)!.data, `${k} stays frozen`);
      // The frozen part's output from the inference graph and the training graph's forward may differ in their last
      // bits (fused attention, other batch sizes: float32 rounding, ~1e-7 relative); nine steps on them move a weight
      // by as little, while a wrong cached value, batch order or update is off by the size of a step (lr 1e-2).
      const scale = Math.max(...Array.from(t.data as Float32Array, Math.abs));
      (t.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - (b.get(k)!.data as Float32Array)[i]!) <= 1e-5 * scale, `${k}[${i}]`));
    }
    assert.ok(Math.max(...Array.from(a.get('head.weight')!.data as Float32Array, Math.abs)) > 1e-3, 'the head trained');
    if (depth === 2) assert.notDeepEqual(a.get('blocks.1.mlp.fc1.weight')!.data, init.get('blocks.1.mlp.fc1.weight')!.data, 'block 1 trained');
    assert.equal(cached.testAcc, uncached.testAcc);
    for (const path of [cached.checkpoint, cached.best]) {
      assert.deepEqual([...loadCheckpoint(path).weights.keys()], [...parameterShapes(config).keys()], `${path} is the whole model`);
    }
    // interrupted mid-epoch 1 and resumed: the cache is recomputed from the checkpoint's frozen weights
    const { resumed } = await interruptAndResume(cut, 4);
    assertSameState(cached.checkpoint, resumed.checkpoint);
    assert.equal(resumed.testAcc, cached.testAcc);
    // Ctrl-C in the cache's pass stops it after the batch in hand (bounded time), saving a checkpoint before step 1
    const out = tmp();
    const controller = new AbortController();
    const batches: number[] = [];
    const stop = (e: TrainEvent) => e.kind === 'features' && (batches.push(e.done), controller.abort());
    const stopped = await train({ recipe: cut, data, outDir: out, signal: controller.signal, onEvent: stop });
    assert.deepEqual([stopped.status, stopped.step, batches], ['interrupted', 0, [32]]);
    const ckpt = loadTrainCheckpoint(out);
    const again = await train({ recipe: cut, data, outDir: out, resume: { state: ckpt.state, progress: ckpt.progress } });
    assertSameState(cached.checkpoint, again.checkpoint);
  });
}

test('a head-only or last:K run that random augmentation or dropout rules out of caching says why, once; opting out says nothing', async () => {
  const reasons = async (r: TrainRecipe, cacheFeatures?: boolean) => {
    const events: TrainEvent[] = [];
    await train({ recipe: { steps: 2, train: TRAIN_HEAD, ...r }, data, outDir: tmp(), cacheFeatures, onEvent: (e) => events.push(e) });
    assert.ok(!events.some((e) => e.kind === 'features'), 'no feature pass');
    return events.flatMap((e) => (e.kind === 'uncached' ? [e.reason] : []));
  };
  const [why, ...more] = await reasons({ ...augmented, dropout: 0.1 });
  assert.deepEqual(more, []);
  assert.match(why!, /^features are not cached: --flip, --pad-crop, --dropout make the frozen encoder's output differ every epoch/);
  assert.deepEqual(await reasons(recipe, false), []);
  const [last] = await reasons({ ...augmented, train: { lastBlocks: 1 } });
  assert.match(last!, /^the frozen blocks' output is not cached: --flip, --pad-crop make the frozen blocks' output differ every epoch/);
  assert.deepEqual(await reasons({ ...augmented, train: { bias: true } }), [], 'only head and last:K runs cache');
});
