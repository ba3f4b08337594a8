// The ViT paper's Figure 5 in miniature: CIFAR-10 test accuracy against training compute for three sizes each of a
// plain ViT, a hybrid (a ResNetV2 stem's feature map as the tokens) and a pure ResNet (the same ResNetV2 with global
// average pooling and a linear head: BiT), all trained from scratch at 32 px for the same epochs with one recipe.
// The paper's claim at its scale (pre-training on JFT-300M): ViT spends less compute than ResNets for the same
// transfer accuracy, and hybrids beat ViT at small budgets, the gap closing as models grow. Every step is a
// `vitkit` command, printed before it runs. Training compute counts 3 forward passes (forward + backward) per image
// seen: 3 × GFLOPs per image × steps × batch.
//
// Run: npx tsx examples/cifar10-compute.ts [--archive PATH] [--out DIR] [--epochs N] [--quick]
//   --archive  CIFAR-10 as JPEG class folders (default ../shared/datasets/cifar10-jpeg.tar.gz)
//   --out      where runs, results.json, results.md and compute.png go (default runs/cifar10-compute)
//   --epochs   epochs of every run (default 2)
//   --quick    a smoke run (tiny models, 40 images per class, one epoch) that checks the pipeline, not the claim
import { cpus } from 'node:os';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { chartToPng } from '../src/analysis/charts.ts';
import { classSubset, defaultArchive, exampleFlags, extractCifar, pct, result, root, time, vitkitRunner } from './cli.ts';

const values = exampleFlags(import.meta.url, {
  archive: { type: 'string' },
  out: { type: 'string' },
  epochs: { type: 'string' },
  quick: { type: 'boolean' },
});
const quick = !!values.quick;
const archive = resolve(values.archive ?? defaultArchive);
const out = resolve(values.out ?? join(root, 'runs/cifar10-compute'));
const epochs = Number(values.epochs ?? (quick ? 1 : 2));

type Family = 'ViT' | 'hybrid' | 'ResNet';
interface Model {
  readonly family: Family;
  readonly name: string;
  readonly flags: readonly string[];
}

/** A Transformer encoder: width, depth, heads, MLP width. */
const encoder = (d: number, depth: number, heads: number) => ['--dim', `${d}`, '--depth', `${depth}`, '--heads', `${heads}`, '--mlp', `${2 * d}`];
// The hybrids' backbone is the smallest ResNet's: a 64-channel stem (BiT's) and one 256-wide bottleneck.
const stem = quick ? '32,1x128' : '64,1x256';
const encoders = quick ? [encoder(32, 1, 2), encoder(48, 1, 2), encoder(64, 2, 2)] : [encoder(64, 2, 2), encoder(128, 4, 4), encoder(192, 6, 3)];
const resnets = quick ? ['32', '32,1x128', '64,1x128'] : ['64,1x256', '64,2x256', '64,2x256,2x512'];
const size = ['S', 'M', 'L'];
const models: Model[] = [
  // Patch 4 and the hybrid's stride-4 stem give the same 8×8 token grid at 32 px.
  ...encoders.map((e, i): Model => ({ family: 'ViT', name: `ViT-${size[i]}/4`, flags: ['--patch', '4', ...e] })),
  ...encoders.map((e, i): Model => ({ family: 'hybrid', name: `R(${stem})+ViT-${size[i]}`, flags: ['--backbone', stem, ...e] })),
  ...resnets.map((b, i): Model => ({
    family: 'ResNet',
    name: `ResNet-${size[i]} (${b})`,
    flags: ['--backbone', b, '--depth', '0', '--pool', 'avg', '--dim', '128'],
  })),
];
const recipe = [
  '--img-size', '32', '--epochs', `${epochs}`, '--batch', '128', '--lr', '0.001', '--weight-decay', '0.05',
  '--warmup-epochs', '0.2', '--label-smoothing', '0.1', '--pad-crop', '4', '--flip',
];

mkdirSync(out, { recursive: true });
const vitkit = vitkitRunner(out);
const cifar = extractCifar(archive, out);
const data = quick ? classSubset(cifar, join(out, 'data/quick'), readdirSync(join(cifar, 'train')).sort(), { train: 40, test: 20 }) : cifar;

const rows = models.map((m) => {
  const trained = vitkit(['train', '--data', data, ...m.flags, ...recipe, '--out', join(out, m.name.replace(/[^\w.-]+/g, '_')), '--force']);
  const r = result(trained);
  const info = vitkit(['info', r.best]).json[0] as { parameters: number; gflops: number };
  const steps = (trained.json.find((j) => j.kind === 'result') as { step: number }).step;
  return {
    family: m.family, name: m.name, command: trained.command, parameters: info.parameters, gflops_per_image: info.gflops,
    train_tflops: (3 * info.gflops * steps * 128) / 1e3, test_acc: r.test_acc, seconds: trained.seconds,
  };
});

const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores`;
const table = [
  `| model | parameters | GFLOPs / image | training TFLOPs | CIFAR-10 test accuracy | wall time |`,
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${(r.parameters / 1e6).toFixed(2)}M | ${r.gflops_per_image.toFixed(3)} | ` +
      `${r.train_tflops.toFixed(1)} | ${pct(r.test_acc)} | ${time(r.seconds)} |`,
  ),
].join('\n');
const spec: TopLevelSpec = {
  title: { text: `CIFAR-10 from scratch, ${epochs} epoch${epochs === 1 ? '' : 's'} each`, subtitle: machine },
  width: 420,
  height: 280,
  data: { values: rows },
  encoding: {
    x: { field: 'train_tflops', type: 'quantitative', scale: { type: 'log' }, title: 'training compute (TFLOPs, log scale)' },
    y: { field: 'test_acc', type: 'quantitative', scale: { zero: false }, axis: { format: '%' }, title: 'test accuracy' },
    color: { field: 'family', type: 'nominal', title: 'model', sort: ['ViT', 'hybrid', 'ResNet'] },
  },
  layer: [
    { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { order: { field: 'train_tflops' } } },
    { mark: { type: 'point', filled: true, size: 60 }, encoding: { shape: { field: 'family', type: 'nominal', sort: ['ViT', 'hybrid', 'ResNet'] } } },
  ],
};
writeFileSync(join(out, 'compute.png'), await chartToPng(spec));
writeFileSync(join(out, 'results.md'), `${table}\n`);
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ quick, epochs, machine, recipe: recipe.join(' '), rows }, null, 2)}\n`);
console.log(`\n${table}\n\nresults: ${join(out, 'results.json')}, plot: ${join(out, 'compute.png')}`);
