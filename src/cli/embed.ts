// vitkit embed --checkpoint PATH --data SPEC --out FILE: a checkpoint's pooled features of one split, as .npy or
// JSON lines. Also home of the flags and the extraction step that fewshot, knn and linear-probe share with it, so
// all four read a dataset the same way and share its feature cache.
import { extname } from 'node:path';
import { UserError } from '../errors.ts';
import { type ExtractedFeatures, SPLITS, type Split, extractFeatures } from '../eval/features.ts';
import { tensor } from '../graph/tensor.ts';
import { assertWritable, writeFileAtomic } from '../weights/atomic-write.ts';
import { encodeNpy } from '../weights/npz.ts';
import { type Parsed, modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { type Progress, progressBar } from './progress.ts';
import { loadModelFromFlags } from './load-model.ts';

/** Flags of every command that works on frozen features. */
export const featureFlags = {
  ...modelFlags,
  data: { type: 'string' },
  batch: { type: 'string' },
  'per-class': { type: 'string' },
  'no-cache': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const featureFlagsHelp = `
Features (pooled, i.e. what the head sees, or CLIP's image_embeds; cached per checkpoint, data and split):
  --data PATH|NAME     an ImageFolder directory (train/ + test/ or val/, else split 80/20 per class), a directory of
                       MNIST-style IDX files, CIFAR-10 .bin batches, or fashion-mnist | mnist
  --batch N            images per model run (default 32; 64 on a GPU)
  --per-class N        use only the first N images of each class of each split (quick runs)
  --no-cache           neither read nor write the feature cache ($VITKIT_CACHE_DIR, else $XDG_CACHE_HOME/vitkit or
                       ~/.cache/vitkit)
  --json               print one JSON object with the results
${modelFlagsHelp}`;

type FeatureArgs = Parsed<typeof featureFlags>;

/** Loads the checkpoint and extracts `splits` with a progress bar per split computed (not for cache hits). */
export async function featuresFromFlags(command: string, args: FeatureArgs, splits: readonly Split[]): Promise<ExtractedFeatures[]> {
  const v = args.values;
  if (!v.checkpoint || !v.data) throw new UserError(`${command}: --checkpoint PATH and --data PATH|NAME are required (see vitkit ${command} --help)`);
  if (args.positionals.length) throw new UserError(`${command}: unexpected argument '${args.positionals[0]}' (see vitkit ${command} --help)`);
  const bars = new Map<Split, Progress>();
  return extractFeatures(await loadModelFromFlags(v.checkpoint, v), v.data, splits, {
    batch: v.batch === undefined ? undefined : numberFlag('batch', v.batch, 0, { integer: true, min: 1 }),
    perClass: v['per-class'] === undefined ? undefined : numberFlag('per-class', v['per-class'], 0, { integer: true, min: 1 }),
    threads: threadsFlag(v.threads),
    cache: !v['no-cache'],
    onProgress: (split, done, total) => {
      let bar = bars.get(split);
      if (!bar) bars.set(split, (bar = progressBar(`features ${split}`, total)));
      bar.update(done);
      if (done === total) bar.stop();
    },
  });
}

/** One line on what the features are, for human output: `train 8000×768 (cached), test 2000×768`. */
export function describeFeatures(features: readonly ExtractedFeatures[]): string {
  return features.map((f) => `${f.split} ${f.n}×${f.dim}${f.cached ? ' (cached)' : ''}`).join(', ');
}

const help = `
Usage: vitkit embed --checkpoint PATH --data PATH|NAME --out FILE [--split test] [--force] [options]

Writes the pooled features of one split of a dataset:
  --out FILE.npy       features float32 [N, D], and labels int32 [N] in FILE.labels.npy
  --out FILE.jsonl     one {"label": class index, "features": [D numbers]} object per line
  --split train|test   which split (default test)
  --force              overwrite existing output files
${featureFlagsHelp}
`;

const options = { ...featureFlags, out: { type: 'string' }, split: { type: 'string' }, force: { type: 'boolean' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('embed', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (!v.out) throw new UserError('embed: --out FILE.npy or --out FILE.jsonl is required (see vitkit embed --help)');
  const split = (v.split ?? 'test') as Split;
  if (!SPLITS.includes(split)) throw new UserError(`embed: unknown split '${v.split}' (expected ${SPLITS.join('|')})`);
  const ext = extname(v.out).toLowerCase();
  if (ext !== '.npy' && ext !== '.jsonl') throw new UserError(`embed: --out ${v.out} has an unknown extension '${ext}' (expected .npy|.jsonl)`);
  const labelsPath = ext === '.npy' ? `${v.out.slice(0, -ext.length)}.labels.npy` : null;
  // refuse before the (long) extraction rather than after it
  for (const p of [v.out, labelsPath]) if (p) assertWritable(p, { force: v.force });
  const [f] = await featuresFromFlags('embed', args, [split]);
  const { n, dim, features, labels } = f!;
  if (labelsPath) {
    writeFileAtomic(v.out, encodeNpy(tensor('float32', [n, dim], features)), { force: v.force });
    writeFileAtomic(labelsPath, encodeNpy(tensor('int32', [n], labels)), { force: v.force });
  } else {
    // 9 significant digits round-trip a float32 exactly; Number() drops the trailing zeros
    const lines = Array.from({ length: n }, (_, i) => {
      const row = Array.from(features.subarray(i * dim, (i + 1) * dim), (x) => Number(x.toPrecision(9)));
      return `${JSON.stringify({ label: labels[i], features: row })}\n`;
    });
    writeFileAtomic(v.out, lines, { force: v.force });
  }
  if (v.json) console.log(JSON.stringify({ out: v.out, labels: labelsPath, split, n, dim, classes: f!.classes, cached: f!.cached }));
  else console.log(`wrote ${v.out}${labelsPath ? ` and ${labelsPath}` : ''}: ${describeFeatures([f!])} of ${v.data}`);
}
