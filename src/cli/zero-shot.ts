// vitkit zero-shot IMAGE... --checkpoint CLIP --labels "a cat,a dog": CLIP's zero-shot classification, each image's
// labels ranked by probability, as transformers' zero-shot-image-classification pipeline ranks them.
import { preprocessBatch } from '../data/decode.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_TEMPLATE, ZeroShotClassifier } from '../inference/zero-shot.ts';
import { loadOptionsFromFlags, modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { noteUnstatedPreprocess } from './preprocess-flags.ts';

const help = `
Usage: vitkit zero-shot IMAGE... --checkpoint CLIP --labels "a cat,a dog" [--template T] [--top K] [--json] [options]

Ranks the labels for each image (JPEG, PNG, WebP, GIF, TIFF) with a CLIP model: each label fills the template, its
text embedding is compared with the image's (cosine similarity times CLIP's logit scale, transformers' CLIPModel
logits_per_image), and a softmax over the labels gives the probabilities.
  --checkpoint CLIP    a Hugging Face CLIPModel folder (model_type clip: both towers, the tokenizer's vocab.json +
                       merges.txt or tokenizer.json) or a Hub id such as openai/clip-vit-base-patch32, downloaded
                       on first use. An image tower alone (clip_vision_model, a timm file) has no text side;
                       SigLIP's SentencePiece tokenizer is not supported yet
  --labels L1,L2,...   the candidate labels, comma-separated (at least one)
  --template T         the prompt, with {} where the label goes (default "${DEFAULT_TEMPLATE}", as transformers'
                       pipeline)
  --top K              how many labels to show per image (default all)
  --json               one JSON object per image: {"image", "device", "top": [{"index", "label", "prob", "logit"}]}
${modelFlagsHelp}
`;

const options = {
  ...modelFlags, labels: { type: 'string' }, template: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** The labels of --labels: comma-separated, trimmed, none empty. */
export function labelsFlag(value: string | undefined): string[] {
  if (value === undefined) {
    throw new UserError('zero-shot: --labels "a cat,a dog" is required (see vitkit zero-shot --help)');
  }
  const labels = value.split(',').map((l) => l.trim());
  const empty = labels.indexOf('');
  if (empty >= 0) {
    throw new UserError(
      `zero-shot: --labels '${value}' has an empty label at position ${empty + 1}: give comma-separated labels such as "a cat,a dog"`,
    );
  }
  return labels;
}

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('zero-shot', argv, options, help);
  if (!args) return;
  const { values: v, positionals: images } = args;
  if (!v.checkpoint) throw new UserError('zero-shot: --checkpoint CLIP is required (see vitkit zero-shot --help)');
  if (images.length === 0) throw new UserError('zero-shot: give at least one image path (see vitkit zero-shot --help)');
  const labels = labelsFlag(v.labels);
  const top = numberFlag('top', v.top, labels.length, { integer: true, min: 1 });
  const dir = await localCheckpoint(v.checkpoint, v.revision);
  const zs = await ZeroShotClassifier.load(dir, { ...loadOptionsFromFlags(v), threads: threadsFlag(v.threads) });
  process.once('exit', (code) => code === 0 && noteUnstatedPreprocess(v.checkpoint!, zs.model.preprocess));
  const texts = await zs.embedLabels(labels, v.template ?? DEFAULT_TEMPLATE);
  const batchSize = 16;
  for (let i = 0; i < images.length; i += batchSize) {
    const paths = images.slice(i, i + batchSize);
    const results = await zs.classify(await preprocessBatch(paths, zs.model.preprocess), texts);
    paths.forEach((image, j) => {
      const ranked = results[j]!.slice(0, top);
      if (v.json) console.log(JSON.stringify({ image, device: zs.device, top: ranked }));
      else {
        console.log(image);
        for (const p of ranked) console.log(`  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${p.label}`);
      }
    });
  }
  await zs.release();
}
