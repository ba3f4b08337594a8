// int8 against float32 on real trained checkpoints: top-1 of each on the full test split, the drop, and how often
// the two agree on the top-1 class. Prints one JSON line per checkpoint.
// Run: node --import tsx bench/int8-accuracy.ts CHECKPOINT=DATA [CHECKPOINT=DATA ...] [--per-tensor] [--threads N]
//   e.g. runs/fashion-mnist/best.safetensors=fashion-mnist  runs/cifar/best.safetensors=path/to/cifar10
import { parseArgs } from 'node:util';
import { AccuracyMeter } from '../src/eval/accuracy.ts';
import { evalSource } from '../src/eval/evaluate.ts';
import { Classifier, loadModel } from '../src/inference/classifier.ts';
import { quantizeWeights } from '../src/model/int8.ts';
import { machine } from './machine.ts';

const { values, positionals } = parseArgs({ options: { 'per-tensor': { type: 'boolean' }, threads: { type: 'string' } }, allowPositionals: true });
if (positionals.length === 0) throw new Error('give CHECKPOINT=DATA pairs (see the header of bench/int8-accuracy.ts)');
const threads = values.threads ? Number(values.threads) : undefined;

/** The top-1 class of a row of logits (for the agreement between the two models). */
const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);

for (const pair of positionals) {
  const [checkpoint, data] = pair.split('=') as [string, string];
  const fp32 = loadModel(checkpoint, { precision: 'fp32' });
  const int8 = { ...fp32, precision: 'int8' as const, weights: quantizeWeights(fp32.config, fp32.weights, { perTensor: values['per-tensor'] }) };
  const [a, b] = await Promise.all([Classifier.create(fp32, { threads, outputs: ['logits'] }), Classifier.create(int8, { threads, outputs: ['logits'] })]);
  const source = await evalSource(data, fp32.preprocess);
  const n = source.labels.length;
  const k = fp32.config.numClasses;
  const [meter32, meter8] = [new AccuracyMeter(k), new AccuracyMeter(k)];
  let agree = 0;
  const started = performance.now();
  for (let start = 0; start < n; start += 256) {
    const indices = Array.from({ length: Math.min(256, n - start) }, (_, i) => start + i);
    const images = await source.load(indices);
    const [l32, l8] = [(await a.run(images)).logits!.data as Float32Array, (await b.run(images)).logits!.data as Float32Array];
    const labels = source.labels.subarray(start, start + indices.length);
    meter32.add(l32, labels);
    meter8.add(l8, labels);
    indices.forEach((_, j) => void (agree += Number(argmax(l32.subarray(j * k, (j + 1) * k)) === argmax(l8.subarray(j * k, (j + 1) * k)))));
  }
  await a.release();
  await b.release();
  console.log(
    JSON.stringify({
      checkpoint, data, images: n, per_tensor: !!values['per-tensor'], machine: machine(),
      fp32_top1: 100 * meter32.result().top1, int8_top1: 100 * meter8.result().top1, drop_pt: 100 * (meter32.result().top1 - meter8.result().top1),
      top1_agreement: (100 * agree) / n, seconds: (performance.now() - started) / 1000,
    }),
  );
}
