// vitkit knn --checkpoint PATH --data SPEC --k 20: k-nearest-neighbour accuracy (cosine similarity, majority vote)
// of the test split's frozen features against the train split's.
import { knnClassify } from '../eval/knn.ts';
import { numberFlag, parseCommand, threadsFlag } from './args.ts';
import { describeFeatures, featureFlags, featureFlagsHelp, featuresFromFlags } from './embed.ts';
import { progressBar } from './progress.ts';

const help = `
Usage: vitkit knn --checkpoint PATH --data PATH|NAME [--k 20] [options]

Classifies each test image by a majority vote of the k train images whose features are most similar (cosine);
a tie goes to the class with the larger summed similarity.
  --k N                neighbours that vote (default 20)
${featureFlagsHelp}
`;

const options = { ...featureFlags, k: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('knn', argv, options, help);
  if (!args) return;
  const v = args.values;
  const k = numberFlag('k', v.k, 20, { integer: true, min: 1 });
  const [train, test] = await featuresFromFlags('knn', args, ['train', 'test']);
  const bar = progressBar('knn', test!.n);
  const r = await knnClassify(train!, test!, { k, threads: threadsFlag(v.threads), onProgress: (done) => bar.update(done) });
  bar.stop();
  if (v.json) console.log(JSON.stringify({ accuracy: r.accuracy, k, n: r.n, train: train!.n, dim: train!.dim }));
  else console.log(`kNN (k=${k}, cosine) top-1 ${(100 * r.accuracy).toFixed(2)}% on ${v.data} (${describeFeatures([train!, test!])})`);
}
