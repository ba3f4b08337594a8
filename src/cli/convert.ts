// vitkit convert IN OUT --to FORMAT: rewrite a checkpoint in another format.
import { UserError } from '../errors.ts';
import { classNames } from '../inference/classifier.ts';
import { type SaveFormat, checkpointBytes, loadCheckpoint, saveCheckpoint, unsavedBy } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { printJson } from './json-output.ts';
import { preprocessFlags, preprocessFlagsHelp, withPreprocessFlags } from './preprocess-flags.ts';

const help = `
Usage: vitkit convert IN OUT --to timm|hf|npz|vitkit [--onnx] [--mean a,b,c --std a,b,c] [--crop-pct F]
                     [--interpolation M] [--labels FILE] [--force] [--json] [--revision R] [--heads N] [--ln-eps E]
                     [--pool token|avg] [--mlp quick_gelu]

Reads a checkpoint in any supported format and writes it in another, with its preprocessing and class names
wherever the format can hold them:
  timm     OUT a folder: timm's Hub layout as push_to_hf_hub writes it (model.safetensors + config.json with
           pretrained_cfg and label_names); OUT.safetensors: timm's bare state dict, which holds neither (a notice
           says so)
  hf       Hugging Face directory (config.json with id2label + model.safetensors + preprocessor_config.json)
           as the transformers class that computes the model: ViT, DeiT (distilled: ...WithTeacher), DINOv2
           (± registers), CLIP's and SigLIP's vision towers, BEiT; what transformers cannot express (a classifier
           on a CLIP or SigLIP tower, a hybrid) is refused. A 1000-class checkpoint without class names gets
           ImageNet's
  --onnx   with --to hf: also onnx/model.onnx and its int8 twin onnx/model_quantized.onnx (dtype 'q8') for
           transformers.js: input pixel_values, output logits for pipeline('image-classification', OUT); a
           headless DINOv2, BEiT, SigLIP or CLIP tower's pooler_output (and CLIP's image_embeds) for
           pipeline('image-feature-extraction', OUT) (pool: true reads pooler_output)
  npz      Google's original JAX .npz naming (no preprocessing or class names: it reloads as mean/std 0.5)
  vitkit   vitkit's own .safetensors with the config, labels and preprocessing in its metadata
  --force  overwrite OUT if it exists
  --json   print {"input", "output", "to", "from", "onnx", "bytes"}
IN may be a Hub id (org/name), downloaded on first use; --revision picks its branch, tag or commit.
A checkpoint that does not state its normalisation (a bare timm file) gets ImageNet's, with a notice: pass
--mean/--std for one trained otherwise (0.5,0.5,0.5 for Google's and timm's augreg ViTs).
${preprocessFlagsHelp}
`;

const formats: readonly SaveFormat[] = ['timm', 'hf', 'npz', 'vitkit'];
const options = {
  ...preprocessFlags, to: { type: 'string' }, onnx: { type: 'boolean' }, force: { type: 'boolean' }, json: { type: 'boolean' },
  revision: { type: 'string' }, heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' },
  mlp: { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('convert', argv, options, help);
  if (!args) return;
  const v = args.values;
  const [input, output, ...extra] = args.positionals;
  if (!input || !output || extra.length) throw new UserError('convert: give an input and an output path (see vitkit convert --help)');
  const to = v.to as SaveFormat | undefined;
  if (!to || !formats.includes(to)) throw new UserError(`convert: --to must be one of ${formats.join('|')}, got '${to ?? ''}'`);
  if (v.onnx && to !== 'hf') throw new UserError(`convert: --onnx adds onnx/model.onnx to a Hugging Face directory: use it with --to hf`);
  const ckpt = withPreprocessFlags(loadCheckpoint(await localCheckpoint(input, v.revision), configOverrides(v)), input, v);
  // a Hugging Face config names every class (id2label), so fill in the names the library would show
  const content = to === 'hf' ? { ...ckpt, labels: classNames(ckpt.labels, ckpt.config.numClasses) } : ckpt;
  const lost = unsavedBy(output, to, content);
  saveCheckpoint(output, content, to, { force: v.force, onnx: v.onnx });
  if (lost) console.error(`vitkit: note: ${lost}`);
  if (v.json) printJson({ input, output, to, from: ckpt.format, onnx: Boolean(v.onnx), bytes: checkpointBytes(output) });
  else console.log(`wrote ${output} (${to}${v.onnx ? ' + ONNX' : ''}) from ${input} (${ckpt.format})`);
}
