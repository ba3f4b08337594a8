// vitkit predict IMAGE... --checkpoint PATH: top-k classes per image.
import { preprocessBatch } from '../data/decode.ts';
import { UserError } from '../errors.ts';
import { Classifier, topK } from '../inference/classifier.ts';
import { modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { loadModelFromFlags } from './load-model.ts';

const help = `
Usage: vitkit predict IMAGE... --checkpoint PATH [--top 5] [--json] [--logits] [options]

Classifies each image (JPEG, PNG, WebP, GIF, TIFF) and prints its most probable classes.
  --top K              how many classes to show per image (default 5)
  --json               one JSON object per image: {"image", "device", "top": [{"index", "label", "prob"}], "logits"?}
  --logits             include the raw logits (implies --json)
${modelFlagsHelp}
`;

const options = { ...modelFlags, top: { type: 'string' }, json: { type: 'boolean' }, logits: { type: 'boolean' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('predict', argv, options, help);
  if (!args) return;
  const { values: v, positionals: images } = args;
  if (!v.checkpoint) throw new UserError('predict: --checkpoint PATH is required (see vitkit predict --help)');
  if (images.length === 0) throw new UserError('predict: give at least one image path (see vitkit predict --help)');
  const k = numberFlag('top', v.top, 5, { integer: true, min: 1 });
  const json = v.json || v.logits; // logits are only printed as JSON, so asking for them asks for JSON
  const model = await loadModelFromFlags(v.checkpoint, v);
  const classifier = await Classifier.create(model, { threads: threadsFlag(v.threads), outputs: ['logits'] });
  const batchSize = 16;
  for (let i = 0; i < images.length; i += batchSize) {
    const paths = images.slice(i, i + batchSize);
    const { logits } = await classifier.run(await preprocessBatch(paths, model.preprocess));
    const numClasses = logits!.shape[1]!;
    paths.forEach((image, j) => {
      const row = (logits!.data as Float32Array).subarray(j * numClasses, (j + 1) * numClasses);
      const top = topK(row, k, model.labels);
      if (json) console.log(JSON.stringify({ image, device: classifier.device, top, ...(v.logits ? { logits: Array.from(row) } : {}) }));
      else {
        console.log(image);
        for (const p of top) console.log(`  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${p.label} (${p.index})`);
      }
    });
  }
  await classifier.release();
}
