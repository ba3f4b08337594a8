// Time to 88% test accuracy on Fashion-MNIST: vitkit's main job (`npm start`'s recipe) vs PyTorch + timm eager with
// the same model, recipe and data split, run one after the other on this machine. Prints one JSON line.
// Run: npm run bench:accuracy [-- --threads N]. Takes two full trainings (about 20 minutes on 2 cores).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load-dataset.ts';
import type { ImageSet } from '../src/data/image-set.ts';
import { defaultConfig } from '../src/model/config.ts';
import { type TrainRecipe, fashionMnistRecipe } from '../src/train/recipe.ts';
import { train } from '../src/train/trainer.ts';
import { encodeNpy } from '../src/weights/npz.ts';
import { machine, python } from './machine.ts';

const TARGET = 0.88;
const { values } = parseArgs({ options: { threads: { type: 'string' } } });
const threads = Number(values.threads ?? availableParallelism());
const recipe: TrainRecipe = { ...fashionMnistRecipe, config: { ...defaultConfig, ...fashionMnistRecipe.config } };
const data = await loadDataset('fashion-mnist');
const dir = mkdtempSync(join(tmpdir(), 'vitkit-tta-'));

const curve: { epoch: number; test_acc: number; seconds: number }[] = [];
const started = performance.now();
await train({
  recipe,
  data,
  outDir: join(dir, 'run'),
  threads,
  onEvent: (e) =>
    e.kind === 'epoch'
    && e.testAcc !== undefined
    && curve.push({ epoch: e.epoch, test_acc: e.testAcc, seconds: (performance.now() - started) / 1000 }),
});

const save = (set: ImageSet, split: string) => {
  writeFileSync(join(dir, `${split}_x.npy`), Buffer.concat(encodeNpy({ dtype: 'uint8', shape: [set.n, 1, 28, 28], data: set.images })));
  writeFileSync(join(dir, `${split}_y.npy`), Buffer.concat(encodeNpy({ dtype: 'int32', shape: [set.n], data: set.labels })));
};
save(data.train, 'train');
save(data.test, 'test');
const r = spawnSync(
  python,
  [new URL('./reference_fmnist.py', import.meta.url).pathname, dir, JSON.stringify(recipe), String(threads)],
  { encoding: 'utf8' },
);
const reference = r.status === 0 ? r.stdout.trim().split('\n').map((l) => JSON.parse(l) as (typeof curve)[number]) : null;

const timeTo = (c: typeof curve | null) => c?.find((p) => p.test_acc >= TARGET)?.seconds ?? null;
console.log(
  JSON.stringify({
    target: TARGET,
    threads,
    machine: machine(),
    vitkit_seconds_to_target: timeTo(curve),
    pytorch_seconds_to_target: timeTo(reference),
    vitkit_curve: curve,
    pytorch_curve: reference ?? { error: (r.stderr || String(r.error)).trim().split('\n').pop() },
  }),
);
