// vitkit quantize IN OUT: an int8 checkpoint (vitkit format) from any checkpoint.
import { statSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { isQuantized, quantizeWeights } from '../model/int8.ts';
import { assertWritable } from '../weights/atomic-write.ts';
import { checkpointBytes, loadCheckpoint, saveCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { preprocessFlags, preprocessFlagsHelp, withPreprocessFlags } from './preprocess-flags.ts';

const help = `
Usage: vitkit quantize IN OUT [--per-tensor] [--force] [--json] [--mean a,b,c --std a,b,c] [--crop-pct F]
                      [--interpolation M] [--labels FILE] [--revision R] [--heads N] [--ln-eps E] [--pool token|avg]

Writes an int8 copy of a checkpoint in vitkit's .safetensors format, about 4× smaller: the weights of every
linear layer (patch projection, attention, MLP, head) become int8 with one float32 scale per output channel;
LayerNorm, biases and embeddings stay float32. predict, eval, serve, embed, export-onnx and
bench --checkpoint run it in int8 directly (the same as --int8 on the original). Its preprocessing and class
names are kept (or set by the flags below). IN may be a Hub id (org/name), downloaded on first use
(--revision R: its branch, tag or commit).
  --per-tensor   one scale per weight tensor instead of per output channel (less accurate)
  --force        overwrite OUT if it exists
  --json         print {"input", "output", "bytes_in", "bytes_out", "ratio"}
${preprocessFlagsHelp}
`;

const options = {
  ...preprocessFlags, 'per-tensor': { type: 'boolean' }, force: { type: 'boolean' }, json: { type: 'boolean' }, revision: { type: 'string' },
  heads: { type: 'string' }, 'ln-eps': { type: 'string' }, pool: { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('quantize', argv, options, help);
  if (!args) return;
  const [input, output, ...extra] = args.positionals;
  if (!input || !output || extra.length) throw new UserError('quantize: give an input and an output path (see vitkit quantize --help)');
  assertWritable(output, { force: args.values.force }); // before a download or a long load
  const loaded = loadCheckpoint(await localCheckpoint(input, args.values.revision), configOverrides(args.values));
  const bytesIn = checkpointBytes(loaded.path); // the resolved file or folder, not a Hub id
  if (isQuantized(loaded.weights)) throw new UserError(`quantize: ${input} is already int8 (use vitkit convert to copy it)`);
  const ckpt = withPreprocessFlags(loaded, input, args.values);
  // Training state (optimizer moments) is for resuming float training; an int8 model cannot resume, so drop it.
  const { trainingState: _dropped, ...model } = ckpt;
  const weights = quantizeWeights(ckpt.config, ckpt.weights, { perTensor: args.values['per-tensor'] });
  saveCheckpoint(output, { ...model, weights }, 'vitkit', { force: args.values.force });
  const bytesOut = statSync(output).size;
  const result = { input, output, bytes_in: bytesIn, bytes_out: bytesOut, ratio: bytesIn / bytesOut };
  if (args.values.json) console.log(JSON.stringify(result));
  else console.log(`wrote ${output} (int8, ${mib(bytesOut)}) from ${input} (${ckpt.format}, ${mib(bytesIn)}): ${result.ratio.toFixed(2)}× smaller`);
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(2)} MiB`;
