// export-run --from's carried state: a real vitkit checkpoint's optimizer moments, step and EMA, under torch.optim's
// state keys and timm's parameter names, in the files recipe.json points train.py at. (train.py loading them and
// taking vitkit's next step is measured by bench/export-run-fidelity.ts, which needs PyTorch.)
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/image-set.ts';
import { UserError } from '../../src/errors.ts';
import { continuedRun } from '../../src/export-run/continued.ts';
import { exportRun } from '../../src/export-run/export-run.ts';
import type { StateDict } from '../../src/graph/tensor.ts';
import { parameterShapes } from '../../src/model/params.ts';
import { stateName } from '../../src/model/step-graph.ts';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import type { TrainRecipe } from '../../src/train/recipe.ts';
import { train } from '../../src/train/trainer.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { assertSameTensors } from '../weights/helpers.ts';
import { toyData, toyRecipe } from './helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'vitkit-export-from-'));
const names = [...parameterShapes(toyRecipe.config).keys()];
const loadToy = async (): Promise<Dataset> => toyData;

/** The checkpoint of a toy run stopped after `at` steps, mid-epoch (5 steps per epoch), as an interrupted run. */
async function stoppedRun(recipe: TrainRecipe, at: number) {
  const outDir = tmp();
  const stop = new AbortController();
  const result = await train({
    recipe,
    data: toyData,
    outDir,
    workers: 0,
    signal: stop.signal,
    onEvent: (e) => e.kind === 'step' && e.step === at && stop.abort(),
  });
  assert.equal(result.status, 'interrupted');
  return loadTrainCheckpoint(outDir);
}

/** The checkpoint's `slot.<param>` tensors, renamed `key.<param>`. */
const slotOf = (state: StateDict, slot: string, key: string): StateDict =>
  new Map(names.map((n) => [`${key}.${n}`, state.get(stateName(slot, n))!]));

const exported = async (ckpt: Awaited<ReturnType<typeof stoppedRun>>) => {
  const out = join(tmp(), 'run');
  await exportRun(out, await continuedRun(ckpt, loadToy, 'continued'));
  return { out, recipe: JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8')) };
};

test('AdamW: exp_avg/exp_avg_sq are the checkpoint\'s moments, step its update count, ema.safetensors its EMA', async () => {
  const ckpt = await stoppedRun(toyRecipe, 3);
  const { out, recipe: j } = await exported(ckpt);
  const sums = ckpt.progress.epochSums;
  assert.deepEqual([sums.steps, sums.images], [3, 24]);
  assert.equal(j.start_step, 3);
  assert.deepEqual(j.resume, {
    step: 3, optimizer: 'optimizer.safetensors', ema: 'ema.safetensors', epoch_sums: { loss: sums.loss * 8, correct: sums.correct, images: 24 },
  });
  const opt = readSafetensors(join(out, 'optimizer.safetensors')).tensors;
  // every parameter, torch.optim.AdamW's state keys, the parameter's shape, the checkpoint's exact float32 values
  assertSameTensors(opt, new Map([...slotOf(ckpt.state, 'm', 'exp_avg'), ...slotOf(ckpt.state, 'v', 'exp_avg_sq')]));
  for (const [n, shape] of parameterShapes(toyRecipe.config)) assert.deepEqual(opt.get(`exp_avg.${n}`)!.shape, shape, n);
  for (const [k, t] of opt) assert.ok(t.data.some((x) => x !== 0), `${k}: three steps' moments, not a fresh optimizer's zeros`);
  const ema = readSafetensors(join(out, 'ema.safetensors')).tensors;
  assertSameTensors(ema, new Map(names.map((n) => [n, ckpt.state.get(stateName('ema', n))!])));
  const weights = readSafetensors(join(out, 'init.safetensors')).tensors;
  assertSameTensors(weights, new Map(names.map((n) => [n, ckpt.state.get(n)!])));
  assert.ok(names.some((n) => ema.get(n)!.data.some((x, i) => x !== weights.get(n)!.data[i])), 'the EMA lags the weights');
  const readme = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(readme, /\| optimizer\.safetensors \| the optimizer state at step 3/);
  assert.match(readme, /carries the run's whole training state at step 3/);
});

test('SGD: momentum_buffer is the checkpoint\'s momentum; without momentum or an EMA nothing but the step is carried', async () => {
  const sgd: TrainRecipe = { ...toyRecipe, optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0.05 }, ema: 0 };
  const ckpt = await stoppedRun(sgd, 2);
  const { out, recipe: j } = await exported(ckpt);
  assertSameTensors(readSafetensors(join(out, 'optimizer.safetensors')).tensors, slotOf(ckpt.state, 'momentum', 'momentum_buffer'));
  assert.deepEqual([j.resume.step, j.resume.optimizer, j.resume.ema], [2, 'optimizer.safetensors', undefined]);
  assert.ok(!existsSync(join(out, 'ema.safetensors')));

  const plain = await exported(await stoppedRun({ ...sgd, optimizer: { kind: 'sgd', momentum: 0 } }, 2));
  assert.deepEqual(Object.keys(plain.recipe.resume), ['step', 'epoch_sums']);
  assert.ok(!existsSync(join(plain.out, 'optimizer.safetensors')));
});

test('refused in one line, before the data is loaded: a partial fine-tune, and a checkpoint without its moments', async () => {
  const ckpt = await stoppedRun({ ...toyRecipe, steps: 2 }, 1);
  const noData = async (): Promise<Dataset> => assert.fail('loaded the data of a run that cannot be continued');
  const oneLine = (pattern: RegExp) => (e: unknown) => e instanceof UserError && !e.message.includes('\n') && pattern.test(e.message);
  const partial = { ...ckpt, recipe: { ...ckpt.recipe, train: { bias: true } } };
  await assert.rejects(continuedRun(partial, noData, 'x'), oneLine(/step-0000001\.safetensors: export-run trains every parameter/));
  const state = new Map(ckpt.state);
  state.delete(stateName('m', 'head.weight'));
  await assert.rejects(continuedRun({ ...ckpt, state }, noData, 'x'), oneLine(/lacks 'm\.head\.weight' in its training state/));
});
