// vitkit analyze CKPT --out DIR [--images DIR]: the paper's inspections of a model as PNGs and an HTML report.
import { analyzeModel } from '../analysis/analyze.ts';
import { UserError } from '../errors.ts';
import { modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { printJson } from './json-output.ts';
import { progressBar } from './progress.ts';
import { loadModelFromFlags } from './load-model.ts';

const help = `
Usage: vitkit analyze CKPT --out DIR [--images DIR|DATASET] [options]

Writes into DIR (as in the paper's Fig. 6 and 7):
  attention-distance.png    mean attention distance per head against depth (needs --images)
  attention-rollout.png     rollout maps of the first images (needs --images)
  pos-embed-similarity.png  cosine similarity of each patch's position embedding with all others
  embedding-filters.png     the first principal components of the patch-embedding filters
  analysis.json             the numbers behind the pictures
  index.html                the report, with the model's config
Options:
  --out DIR            output directory (created if missing)
  --images SPEC        a folder of images, an ImageFolder, an IDX or CIFAR-10 directory, or fashion-mnist | mnist
                       (test splits); images are preprocessed as the model expects
  --max-images N       images to average attention distance over (default 32, spread over the set)
  --examples N         rollout examples in attention-rollout.png (default 8)
  --components N       principal components of the filters to show (default 28)
  --force              overwrite existing files in DIR
  --json               print {"files", "images", "attention_distance", "filter_explained", "notes"}
CKPT is any checkpoint predict takes (--checkpoint PATH works too).
${modelFlagsHelp}
`;

const options = {
  ...modelFlags,
  out: { type: 'string' },
  images: { type: 'string' },
  'max-images': { type: 'string' },
  examples: { type: 'string' },
  components: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('analyze', argv, options, help);
  if (!args) return;
  const { values: v, positionals } = args;
  const checkpoint = positionals[0] ?? v.checkpoint;
  if (!checkpoint || !v.out) throw new UserError('analyze: give a checkpoint and --out DIR (see vitkit analyze --help)');
  if (positionals.length > 1) throw new UserError(`analyze: unexpected argument '${positionals[1]}' (see vitkit analyze --help)`);
  const model = await loadModelFromFlags(checkpoint, v);
  const maxImages = numberFlag('max-images', v['max-images'], 32, { integer: true, min: 1 });
  const bar = progressBar('analyze', maxImages, undefined, Boolean(v.images) && process.stderr.isTTY);
  const summary = await analyzeModel(model, v.out, {
    images: v.images,
    maxImages,
    examples: numberFlag('examples', v.examples, 8, { integer: true, min: 1 }),
    components: numberFlag('components', v.components, 28, { integer: true, min: 1 }),
    threads: threadsFlag(v.threads),
    force: v.force,
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  if (v.json) printJson({ ...summary });
  else {
    for (const note of summary.notes) console.error(`vitkit: note: ${note}`);
    console.log(`wrote ${summary.files.length} files to ${v.out}: open ${summary.files.at(-1)}`);
  }
}
