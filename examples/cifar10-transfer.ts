// A small, honest replication of the ViT paper's transfer claim on CIFAR-10, with the vitkit CLI:
//   pre-train a small ViT on classes 0–4 (airplane … deer) at 24 px, then on classes 5–9 (dog … truck) compare
//   (a) training from scratch at 32 px, (b) fine-tuning the pre-trained model at 32 px (position embeddings
//   resampled 6×6 → 8×8, zero-initialised head, SGD with momentum, as the paper fine-tunes), and (c) few-shot linear
//   evaluation of its frozen features at 1/5/10/25 images per class.
// Every step is a `vitkit` command, printed before it runs, so the whole experiment can be repeated by hand.
//
// Run: npx tsx examples/cifar10-transfer.ts [--archive PATH] [--out DIR] [--quick]
//   --archive  CIFAR-10 as JPEG class folders (default ../shared/datasets/cifar10-jpeg.tar.gz)
//   --out      where runs, results.json and the extracted images go (default runs/cifar10-transfer)
//   --quick    a smoke run (tiny model, 60 images per class, seconds) that checks the pipeline, not the claim
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { classSubset, defaultArchive, exampleFlags, extractCifar, pct, result, root, time, vitkitRunner } from './cli.ts';

const values = exampleFlags(import.meta.url, { archive: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' } });
const archive = resolve(values.archive ?? defaultArchive);
const out = resolve(values.out ?? join(root, 'runs/cifar10-transfer'));
const quick = !!values.quick;

// One architecture for every run: patch 4 gives a 6×6 grid at 24 px and 8×8 at 32 px.
const model = quick
  ? ['--dim', '32', '--depth', '1', '--heads', '2', '--mlp', '64']
  : ['--dim', '128', '--depth', '4', '--heads', '4', '--mlp', '256'];
const augment = (imgSize: number) => ['--flip', '--pad-crop', String(imgSize / 8)];
const epochs = quick ? { pretrain: 1, transfer: 1 } : { pretrain: 10, transfer: 5 };
const perClass = quick ? { train: 60, test: 20 } : undefined;
const shots = quick ? [1, 5] : [1, 5, 10, 25];
const seeds = quick ? 1 : 3;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

mkdirSync(out, { recursive: true });
const vitkit = vitkitRunner(out);
const cifar = extractCifar(archive, out);
const classes = readdirSync(join(cifar, 'train')).sort();
const upstream = classSubset(cifar, join(out, 'data/classes-0-4'), classes.slice(0, 5), perClass);
const downstream = classSubset(cifar, join(out, 'data/classes-5-9'), classes.slice(5, 10), perClass);
const run = (name: string) => ['--out', join(out, name), '--force'];
const adamw = ['--batch', '128', '--lr', '0.002', '--weight-decay', '0.05', '--warmup-epochs', '1', '--label-smoothing', '0.1'];

const pre = vitkit([
  'train', '--data', upstream, '--img-size', '24', '--patch', '4', ...model, ...adamw,
  '--epochs', String(epochs.pretrain), ...augment(24), ...run('pretrain'),
]);
const scratch = vitkit([
  'train', '--data', downstream, '--img-size', '32', '--patch', '4', ...model, ...adamw,
  '--epochs', String(epochs.transfer), ...augment(32), ...run('scratch'),
]);
const finetune = vitkit([
  'finetune', '--checkpoint', result(pre).best, '--data', downstream, '--img-size', '32',
  '--batch', '128', '--accum', '1', '--epochs', String(epochs.transfer), '--warmup-steps', quick ? '1' : '100', ...augment(32), ...run('finetune'),
]);
const fewshot = vitkit([
  'fewshot', '--checkpoint', result(pre).best, '--data', downstream, '--img-size', '32', '--crop-pct', '1',
  '--shots', shots.join(','), '--seeds', String(seeds), '--holdout', quick ? '5' : '10',
]);

const few = fewshot.json[0]!.results as { shots: number; mean: number; std: number }[];
const rows: [string, string, string][] = [
  [`pre-training on classes 0–4 at 24 px, ${plural(epochs.pretrain, 'epoch')} (its own test set)`, pct(result(pre).test_acc), time(pre.seconds)],
  [`(a) from scratch at 32 px, ${plural(epochs.transfer, 'epoch')}`, pct(result(scratch).test_acc), time(scratch.seconds)],
  [`(b) fine-tuned at 32 px, ${plural(epochs.transfer, 'epoch')} (SGD, momentum 0.9)`, pct(result(finetune).test_acc), time(finetune.seconds)],
  ...few.map((f, i): [string, string, string] => [
    `(c) few-shot linear, ${f.shots} per class (${plural(seeds, 'seed')})`,
    `${pct(f.mean)} ± ${(100 * f.std).toFixed(1)}`,
    i === 0 ? `${time(fewshot.seconds)} all` : '',
  ]),
];
const table = [
  '| On classes 5–9 (dog, frog, horse, ship, truck) unless said | test accuracy | wall time |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ quick, epochs, rows, fewshot: few }, null, 2)}\n`);
console.log(`\n${table}\n\nresults: ${join(out, 'results.json')}`);
