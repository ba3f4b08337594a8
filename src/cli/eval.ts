// vitkit eval --checkpoint PATH --data PATH: top-1/top-5 accuracy on a labelled dataset.
import { chartToPng, confusionSpec } from '../analysis/charts.ts';
import { UserError } from '../errors.ts';
import { evalSource, evaluate } from '../eval/evaluate.ts';
import { Classifier, defaultBatch } from '../inference/classifier.ts';
import { assertWritable, writeFileAtomic } from '../weights/atomic-write.ts';
import { modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { progressBar } from './progress.ts';
import { loadModelFromFlags } from './load-model.ts';

const help = `
Usage: vitkit eval --checkpoint PATH --data PATH [--batch 32] [--confusion out.png] [--json] [options]

Top-1 and top-5 accuracy of a checkpoint on labelled images.
  --data PATH|NAME     an ImageFolder directory (class/xxx.jpg; its test/ or val/ part when split), a directory of
                       MNIST-style IDX files (*-images-idx3-ubyte[.gz] + *-labels-idx1-ubyte[.gz]), CIFAR-10 .bin
                       batches, or fashion-mnist | mnist (their test splits)
  --batch N            images per run (default 32; 64 on a GPU)
  --confusion PATH     also draw the confusion matrix with the checkpoint's class names as a PNG (--force to overwrite)
  --json               print {"top1", "top5", "n", "matched"}

The data's classes are matched to the checkpoint's by name (a folder may hold some of them, in any order); only
a checkpoint that names no classes is matched by position (and says so).
${modelFlagsHelp}
`;

const options = {
  ...modelFlags,
  data: { type: 'string' },
  batch: { type: 'string' },
  confusion: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('eval', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (!v.checkpoint || !v.data) throw new UserError('eval: --checkpoint PATH and --data PATH are required (see vitkit eval --help)');
  if (args.positionals.length) throw new UserError(`eval: unexpected argument '${args.positionals[0]}' (see vitkit eval --help)`);
  const batchFlag = v.batch === undefined ? undefined : numberFlag('batch', v.batch, 0, { integer: true, min: 1 });
  if (v.confusion) assertWritable(v.confusion, { force: v.force });
  const model = await loadModelFromFlags(v.checkpoint, v);
  const classifier = await Classifier.create(model, { threads: threadsFlag(v.threads), outputs: ['logits'] });
  const source = await evalSource(v.data, model.preprocess);
  const bar = progressBar('eval', source.labels.length);
  const r = await evaluate(classifier, source, batchFlag ?? defaultBatch(classifier.device, 32), (done) => bar.update(done));
  bar.stop();
  await classifier.release();
  if (r.byPosition && !v.json) {
    console.error(`${v.checkpoint} names no classes: the data's ${source.classes.length} classes are matched to its outputs by position`);
  }
  if (v.confusion) writeFileAtomic(v.confusion, [await chartToPng(confusionSpec(r.confusion, r.classes))], { force: v.force });
  if (v.json) console.log(JSON.stringify({ top1: r.top1, top5: r.top5, n: r.n, matched: r.byPosition ? 'position' : 'name' }));
  else console.log(`top-1 ${(100 * r.top1).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%  (${r.n} images, ${v.data})`);
}
