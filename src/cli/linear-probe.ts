// vitkit linear-probe --checkpoint PATH --data SPEC: multinomial logistic regression on frozen features, trained
// in-graph with AdamW (src/eval/linear-probe.ts), then test accuracy.
import { linearProbe } from '../eval/linear-probe.ts';
import { numberFlag, parseCommand, threadsFlag } from './args.ts';
import { describeFeatures, featureFlags, featureFlagsHelp, featuresFromFlags } from './embed.ts';
import { printJson } from './json-output.ts';
import { type Progress, progressBar } from './progress.ts';

const help = `
Usage: vitkit linear-probe --checkpoint PATH --data PATH|NAME [--epochs N] [--lr 1e-3] [options]

Trains a linear classifier (softmax cross-entropy, AdamW, cosine learning-rate decay) on the train split's
standardised features and reports its accuracy on the test split.
  --epochs N           passes over the train features (default 30, or enough for 1,000 steps on small sets)
  --lr F               peak learning rate (default 1e-3)
  --wd F               weight decay on the weights, not the bias (default 1e-4)
  --train-batch N      features per step (default 256)
  --seed N             seed of the shuffles (default 0)
${featureFlagsHelp}
`;

const options = {
  ...featureFlags,
  epochs: { type: 'string' },
  lr: { type: 'string' },
  wd: { type: 'string' },
  'train-batch': { type: 'string' },
  seed: { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('linear-probe', argv, options, help);
  if (!args) return;
  const v = args.values;
  const probe = {
    epochs: v.epochs === undefined ? undefined : numberFlag('epochs', v.epochs, 0, { integer: true, min: 1 }),
    lr: numberFlag('lr', v.lr, 1e-3),
    weightDecay: numberFlag('wd', v.wd, 1e-4, { min: 0 }),
    batch: numberFlag('train-batch', v['train-batch'], 256, { integer: true, min: 1 }),
    seed: numberFlag('seed', v.seed, 0, { integer: true, min: 0 }),
    threads: threadsFlag(v.threads),
  };
  const [train, test] = await featuresFromFlags('linear-probe', args, ['train', 'test']);
  let bar: Progress | undefined;
  const onEpoch = (epoch: number, epochs: number, loss: number) => {
    bar ??= progressBar('probe', epochs, '{bar} epoch {value}/{total} loss {loss} eta {eta_formatted}');
    bar.update(epoch, { loss: loss.toFixed(4) });
  };
  const r = await linearProbe(train!, test!, { ...probe, onEpoch });
  bar?.stop();
  if (v.json) printJson({ accuracy: r.accuracy, n: r.n, trainLoss: r.trainLoss, epochs: r.epochs, train: train!.n, dim: train!.dim });
  else {
    const what = `${describeFeatures([train!, test!])}; final train loss ${r.trainLoss.toFixed(4)}`;
    console.log(`linear probe top-1 ${(100 * r.accuracy).toFixed(2)}% on ${v.data} (${what})`);
  }
}
