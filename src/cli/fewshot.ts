// vitkit fewshot --checkpoint PATH --data SPEC --shots 1,5,10,25: the paper's few-shot linear evaluation on frozen
// features (closed-form ridge regression to {−1, 1}^K targets; see src/eval/fewshot.ts), mean ± std over seeds.
import { UserError } from '../errors.ts';
import { fewShot } from '../eval/fewshot.ts';
import { numberFlag, numberList, parseCommand } from './args.ts';
import { describeFeatures, featureFlags, featureFlagsHelp, featuresFromFlags } from './embed.ts';
import { progressBar } from './progress.ts';

const help = `
Usage: vitkit fewshot --checkpoint PATH --data PATH|NAME [--shots 1,5,10,25] [--seeds 3] [--holdout 10] [options]

Few-shot linear accuracy as in the ViT paper: per seed, sample N train images per class, fit regularised least
squares from their standardised features to {-1, 1}^K targets (bias unregularised), choose the ridge strength
on --holdout further train images per class, and score argmax predictions on the whole test split.
  --shots LIST         images per class, comma-separated (default 1,5,10,25)
  --seeds N            repetitions with different samples; mean and std over them (default 3)
  --holdout N          train images per class held out to choose the ridge strength (default 10)
${featureFlagsHelp}
`;

const options = { ...featureFlags, shots: { type: 'string' }, seeds: { type: 'string' }, holdout: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('fewshot', argv, options, help);
  if (!args) return;
  const v = args.values;
  const shots = numberList('shots', v.shots) ?? [1, 5, 10, 25];
  if (shots.some((s) => !(Number.isInteger(s) && s >= 1))) throw new UserError(`--shots must list positive integers, got '${v.shots}'`);
  const seeds = numberFlag('seeds', v.seeds, 3, { integer: true, min: 1 });
  const holdout = numberFlag('holdout', v.holdout, 10, { integer: true, min: 1 });
  const [train, test] = await featuresFromFlags('fewshot', args, ['train', 'test']);
  const bar = progressBar('fewshot', seeds * shots.length);
  const results = fewShot(train!, test!, { shots, seeds, holdout, onProgress: (done) => bar.update(done) });
  bar.stop();
  if (v.json) {
    console.log(JSON.stringify({ results, seeds, holdout, train: train!.n, test: test!.n, dim: train!.dim }));
    return;
  }
  console.log(`few-shot linear accuracy on ${v.data} (${describeFeatures([train!, test!])}; ${seeds} seeds, λ chosen on ${holdout}/class)`);
  console.log('  shots  accuracy');
  for (const r of results) console.log(`  ${String(r.shots).padStart(5)}  ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.std).toFixed(2)}`);
}
