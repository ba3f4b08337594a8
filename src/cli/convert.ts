// vitkit convert IN OUT --to FORMAT: rewrite a checkpoint in another format.
import { UserError } from '../errors.ts';
import { classNames } from '../inference/classifier.ts';
import { type SaveFormat, loadCheckpoint, saveCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';

const help = `
Usage: vitkit convert IN OUT --to timm|hf|npz|vitkit [--onnx] [--force] [--revision R] [--heads N] [--ln-eps E] [--pool token|avg] [--mlp quick_gelu]

Reads a checkpoint in any supported format and writes it in another:
  timm     timm state dict as .safetensors
  hf       Hugging Face directory (config.json with id2label + model.safetensors + preprocessor_config.json);
           a 1000-class checkpoint without class names gets ImageNet's
  --onnx   with --to hf: also onnx/model.onnx (input pixel_values, output logits) and its int8 twin
           onnx/model_quantized.onnx, so transformers.js's pipeline('image-classification', OUT) runs it
           (dtype 'q8' for int8)
  npz      Google's original JAX .npz naming
  vitkit   vitkit's own .safetensors with the config and labels in its metadata
  --force  overwrite OUT if it exists
IN may be a Hub id (org/name) in the local Hugging Face cache; --revision picks its branch, tag or commit.
`;

const formats: readonly SaveFormat[] = ['timm', 'hf', 'npz', 'vitkit'];
const options = { to: { type: 'string' }, onnx: { type: 'boolean' }, force: { type: 'boolean' }, revision: { type: 'string' }, heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' }, mlp: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('convert', argv, options, help);
  if (!args) return;
  const [input, output, ...extra] = args.positionals;
  if (!input || !output || extra.length) throw new UserError('convert: give an input and an output path (see vitkit convert --help)');
  const to = args.values.to as SaveFormat | undefined;
  if (!to || !formats.includes(to)) throw new UserError(`convert: --to must be one of ${formats.join('|')}, got '${to ?? ''}'`);
  const ckpt = loadCheckpoint(input, configOverrides(args.values), { revision: args.values.revision });
  if (args.values.onnx && to !== 'hf') throw new UserError(`convert: --onnx adds onnx/model.onnx to a Hugging Face directory: use it with --to hf`);
  // a Hugging Face config names every class (id2label), so fill in the names the library would show
  const content = to === 'hf' ? { ...ckpt, labels: classNames(ckpt.labels, ckpt.config.numClasses) } : ckpt;
  saveCheckpoint(output, content, to, { force: args.values.force, onnx: args.values.onnx });
  console.log(`wrote ${output} (${to}${args.values.onnx ? ' + ONNX' : ''}) from ${input} (${ckpt.format})`);
}
