// vitkit info CHECKPOINT: what a checkpoint holds.
import { UserError } from '../errors.ts';
import { countParameters, forwardFlops } from '../model/params.ts';
import { loadCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';

const help = `
Usage: vitkit info CHECKPOINT [--json] [--revision R] [--heads N] [--ln-eps E] [--pool token|avg]

Prints a checkpoint's format, inferred architecture, parameter count and GFLOPs per image.
CHECKPOINT: timm .safetensors/.pth, Hugging Face or timm directory, Google .npz, vitkit checkpoint, or a Hub id
(org/name) in the local Hugging Face cache (--revision R: its branch, tag or commit).
  --json     print {"path", "format", "config", "parameters", "gflops", "labels"}
`;

const options = { json: { type: 'boolean' }, revision: { type: 'string' }, heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('info', argv, options, help);
  if (!args) return;
  const [path, ...extra] = args.positionals;
  if (!path || extra.length) throw new UserError('info: give exactly one checkpoint path (see vitkit info --help)');
  const ckpt = loadCheckpoint(path, configOverrides(args.values), { revision: args.values.revision });
  const info = {
    path,
    format: ckpt.format,
    config: ckpt.config,
    parameters: countParameters(ckpt.config),
    gflops: forwardFlops(ckpt.config) / 1e9,
    labels: ckpt.labels?.length ?? 0,
  };
  if (args.values.json) {
    console.log(JSON.stringify(info));
    return;
  }
  const c = ckpt.config;
  console.log(`${path}: ${ckpt.format} checkpoint`);
  console.log(`  architecture  ViT, ${c.imgSize} px, patch ${c.patchSize}, ${c.inChans} channel(s), D ${c.embedDim}, depth ${c.depth}, ${c.numHeads} heads, MLP ${c.mlpDim}`);
  console.log(`  head          ${c.numClasses} classes, pool ${c.pool}${c.preLogitsDim ? `, pre-logits ${c.preLogitsDim}` : ''}${c.classToken ? '' : ', no class token'}`);
  console.log(`  layer norm    eps ${c.layerNormEps}`);
  console.log(`  parameters    ${info.parameters.toLocaleString('en-US')}`);
  console.log(`  compute       ${info.gflops.toFixed(2)} GFLOPs per image`);
  if (info.labels) console.log(`  labels        ${info.labels} (${ckpt.labels!.slice(0, 3).join(', ')}, …)`);
}
