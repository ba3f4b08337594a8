// vitkit convert IN OUT --to FORMAT: rewrite a checkpoint in another format.
import { UserError } from '../errors.ts';
import { type SaveFormat, loadCheckpoint, saveCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';

const help = `
Usage: vitkit convert IN OUT --to timm|hf|npz|vitkit [--force] [--revision R] [--heads N] [--ln-eps E] [--pool token|avg]

Reads a checkpoint in any supported format and writes it in another:
  timm     timm state dict as .safetensors
  hf       Hugging Face directory (config.json + model.safetensors + preprocessor_config.json)
  npz      Google's original JAX .npz naming
  vitkit   vitkit's own .safetensors with the config and labels in its metadata
  --force  overwrite OUT if it exists
IN may be a Hub id (org/name) in the local Hugging Face cache; --revision picks its branch, tag or commit.
`;

const formats: readonly SaveFormat[] = ['timm', 'hf', 'npz', 'vitkit'];
const options = { to: { type: 'string' }, force: { type: 'boolean' }, revision: { type: 'string' }, heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('convert', argv, options, help);
  if (!args) return;
  const [input, output, ...extra] = args.positionals;
  if (!input || !output || extra.length) throw new UserError('convert: give an input and an output path (see vitkit convert --help)');
  const to = args.values.to as SaveFormat | undefined;
  if (!to || !formats.includes(to)) throw new UserError(`convert: --to must be one of ${formats.join('|')}, got '${to ?? ''}'`);
  const ckpt = loadCheckpoint(input, configOverrides(args.values), { revision: args.values.revision });
  saveCheckpoint(output, ckpt, to, { force: args.values.force });
  console.log(`wrote ${output} (${to}) from ${input} (${ckpt.format})`);
}
