// int8 against float32 on real trained checkpoints: top-1 of each on the full test split, the drop, and how often
// the two agree on the top-1 class. Prints one JSON line per checkpoint.
// Run: node --import tsx bench/int8-accuracy.ts CHECKPOINT=DATA [CHECKPOINT=DATA ...] [--per-tensor] [--threads N]
//   e.g. runs/fashion-mnist/best.safetensors=fashion-mnist  runs/cifar/best.safetensors=path/to/cifar10
import { parseArgs } from 'node:util';
import { evalSource } from '../src/eval/evaluate.ts';
import { Classifier, loadModel } from '../src/inference/classifier.ts';
import { quantizeWeights } from '../src/model/int8.ts';
import { machine } from './machine.ts';

const { values, positionals } = parseArgs({ options: { 'per-tensor': { type: 'boolean' }, threads: { type: 'string' } }, allowPositionals: true });
if (positionals.length === 0) throw new Error('give CHECKPOINT=DATA pairs (see the header of bench/int8-accuracy.ts)');
const threads = values.threads ? Number(values.threads) : undefined;

const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);

for (const pair of positionals) {
  const [checkpoint, data] = pair.split('=') as [string, string];
  const fp32 = loadModel(checkpoint, { precision: 'fp32' });
  const int8 = { ...fp32, precision: 'int8' as const, weights: quantizeWeights(fp32.config, fp32.weights, { perTensor: values['per-tensor'] }) };
  const [a, b] = await Promise.all([Classifier.create(fp32, { threads, outputs: ['logits'] }), Classifier.create(int8, { threads, outputs: ['logits'] })]);
  const source = await evalSource(data, fp32.preprocess);
  const n = source.labels.length;
  const k = fp32.config.numClasses;
  let right32 = 0;
  let right8 = 0;
  let agree = 0;
  const started = performance.now();
  for (let start = 0; start < n; start += 256) {
    const indices = Array.from({ length: Math.min(256, n - start) }, (_, i) => start + i);
    const images = await source.load(indices);
    const [l32, l8] = [(await a.run(images)).logits!.data as Float32Array, (await b.run(images)).logits!.data as Float32Array];
    indices.forEach((idx, j) => {
      const [p32, p8] = [argmax(l32.subarray(j * k, (j + 1) * k)), argmax(l8.subarray(j * k, (j + 1) * k))];
      right32 += Number(p32 === source.labels[idx]);
      right8 += Number(p8 === source.labels[idx]);
      agree += Number(p32 === p8);
    });
  }
  await a.release();
  await b.release();
  console.log(
    JSON.stringify({
      checkpoint, data, images: n, per_tensor: !!values['per-tensor'], machine: machine(),
      fp32_top1: (100 * right32) / n, int8_top1: (100 * right8) / n, drop_pt: (100 * (right32 - right8)) / n,
      top1_agreement: (100 * agree) / n, seconds: (performance.now() - started) / 1000,
    }),
  );
}
