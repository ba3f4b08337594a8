// The `vitkit` entry: wires commands (each loaded lazily) and turns errors into one-line messages.
import { UserError } from '../errors.ts';

interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<void> }>;
}

const commands: Record<string, Command> = {
  train: { summary: 'train a ViT from scratch (default: a small ViT on Fashion-MNIST)', load: () => import('./train.ts') },
  finetune: { summary: 'fine-tune a pretrained checkpoint on a dataset (new head, any resolution)', load: () => import('./finetune.ts') },
  'export-run': {
    summary: 'write a train/finetune run as a torchrun + timm folder (when one machine is not enough)',
    load: () => import('./export-run.ts'),
  },
  predict: { summary: 'classify images with a checkpoint', load: () => import('./predict.ts') },
  'zero-shot': { summary: 'rank labels given as text for each image with a CLIP model (no training)', load: () => import('./zero-shot.ts') },
  eval: { summary: 'top-1/top-5 accuracy of a checkpoint on a labelled dataset', load: () => import('./eval.ts') },
  pull: { summary: 'download a Hugging Face Hub model (org/name) into the shared cache', load: () => import('./pull.ts') },
  info: { summary: 'format, config, parameter count and GFLOPs of a checkpoint', load: () => import('./info.ts') },
  quantize: { summary: 'write an int8 copy of a checkpoint (about 4× smaller and faster on CPU)', load: () => import('./quantize.ts') },
  convert: { summary: 'convert a checkpoint between timm, hf, npz and vitkit formats', load: () => import('./convert.ts') },
  'export-onnx': { summary: 'export a checkpoint as an ONNX model with a dynamic batch', load: () => import('./export-onnx.ts') },
  bench: { summary: 'measure inference throughput of an architecture or a checkpoint', load: () => import('./bench.ts') },
  embed: { summary: 'write pooled features (and labels) of a dataset split as .npy or JSON lines', load: () => import('./embed.ts') },
  fewshot: { summary: "few-shot linear accuracy on frozen features (the paper's closed-form ridge)", load: () => import('./fewshot.ts') },
  'linear-probe': { summary: 'logistic-regression probe trained on frozen features', load: () => import('./linear-probe.ts') },
  knn: { summary: 'k-nearest-neighbour (cosine) accuracy on frozen features', load: () => import('./knn.ts') },
  attention: { summary: 'attention rollout (or one layer/head) overlaid on an image', load: () => import('./attention.ts') },
  analyze: { summary: 'attention distance, position-embedding similarity, filters: PNGs and index.html', load: () => import('./analyze.ts') },
  plot: { summary: 'training curves from a run directory\'s metrics.jsonl', load: () => import('./plot.ts') },
  serve: { summary: 'HTTP inference server with dynamic batching', load: () => import('./serve.ts') },
  web: { summary: 'serve the in-browser demo (onnxruntime-web) for a checkpoint', load: () => import('./web.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'vitkit — the Vision Transformer in TypeScript, on onnxruntime',
    '',
    'Usage: vitkit <command> [options]      (vitkit <command> --help for its options)',
    '',
    'Commands:',
    ...lines,
    '',
    'Global options: --verbose (stack traces on errors), --help',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  if (name === '--version') {
    console.log('0.1.0');
    return;
  }
  const command = commands[name];
  if (!command) throw new UserError(`unknown command '${name}' (expected one of: ${Object.keys(commands).join(', ')}); see vitkit --help`);
  await (await command.load()).main(rest);
}

const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2).filter((a) => a !== '--verbose')).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  if (verbose) console.error(e.stack);
  else if (e instanceof UserError) console.error(`vitkit: ${e.message}`);
  else console.error(`vitkit: ${e.message} (internal error; rerun with --verbose for the stack trace)`);
  process.exitCode = 1;
});
