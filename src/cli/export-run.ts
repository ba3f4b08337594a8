// vitkit export-run: a train/finetune run (or an existing run's continuation) as a folder torchrun runs on any
// number of GPUs or machines (src/export-run/).
import type { Channels } from '../data/raw-image.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { UserError } from '../errors.ts';
import { continuedRun } from '../export-run/continued.ts';
import { exportRun, type RunToExport } from '../export-run/export-run.ts';
import { initParameters } from '../model/init.ts';
import { loadTrainCheckpoint } from '../train/checkpoints.ts';
import { parseCommand } from './args.ts';
import { finetuneOptions, planFinetune } from './finetune.ts';
import { printJson } from './json-output.ts';
import { progressBar } from './progress.ts';
import { planTrain, trainOptions } from './train.ts';
import { assertWritable } from '../weights/atomic-write.ts';
import { int } from './training-flags.ts';

const help = `
Usage: vitkit export-run OUT [options] train [flags of vitkit train]
       vitkit export-run OUT [options] finetune [flags of vitkit finetune]
       vitkit export-run OUT [options] --from RUN_DIR

Writes a folder that trains the same run with PyTorch's distributed engine (torchrun, timm): the initial weights in
timm's layout (for finetune: the checkpoint adapted as vitkit adapts it), the data as vitkit loads it (PNG ImageFolder
with vitkit's sample order), recipe.json (every hyperparameter resolved), run.sh, train.py and a README.md. The
trained weights come back as OUT/output (timm's layout): vitkit eval --checkpoint OUT/output …

Options:
  --from RUN_DIR     continue a vitkit run from its latest checkpoint: its weights, recipe, step, optimizer state
                     (AdamW's moments and step count, SGD's momentum) and EMA
  --nproc N          processes per node run.sh starts by default (default 1; NPROC_PER_NODE overrides)
  --force            replace an existing OUT
  --json             print a JSON summary instead of a progress bar

Flags that choose how vitkit executes (--threads --device --workers --json --out --force --resume
--no-cache-features) do not carry into a PyTorch run and are refused after train/finetune; so are partial fine-tunes (--train other than all) and
models timm's VisionTransformer does not build the same (hybrids, the families' switches).`;

const ownOptions = {
  from: { type: 'string' }, nproc: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' },
} as const;

/** The run flags of train/finetune that say how vitkit executes, not what it computes. */
const EXECUTION_FLAGS = ['threads', 'device', 'workers', 'json', 'out', 'force', 'resume', 'no-cache-features'] as const;

function refuseExecutionFlags(command: string, v: Readonly<Record<string, unknown>>): void {
  const given = EXECUTION_FLAGS.filter((f) => v[f] !== undefined);
  if (!given.length) return;
  const flags = given.map((f) => `--${f}`).join(' ');
  throw new UserError(
    `export-run ${command}: ${flags} do not carry into a PyTorch run: drop them (use export-run's own --force/--json, --from RUN_DIR to continue)`,
  );
}

/** The run a command line describes: a new train/finetune run, or a vitkit run's continuation. */
async function runFrom(
  command: string | undefined, rest: string[], from: string | undefined, say: (s: string) => void,
): Promise<RunToExport | null> {
  if (from) {
    if (command) throw new UserError(`export-run: pass --from RUN_DIR or ${command} flags, not both`);
    return continuedRun(loadTrainCheckpoint(from), ({ data, config }) => {
      say(`loading ${data} …`);
      return loadDataset(data, { imageSize: config.imgSize, channels: config.inChans as Channels });
    }, `${from} (continued)`);
  }
  if (command === 'train') {
    const args = parseCommand('export-run train', rest, trainOptions, help);
    if (!args) return null;
    refuseExecutionFlags(command, args.values);
    const { recipe, data } = await planTrain(args.values);
    const evalEvery = int('eval-every', args.values['eval-every'], 1, 0);
    return { recipe, data, init: initParameters(recipe.config, { seed: recipe.seed }), command: 'train', evalEvery };
  }
  if (command === 'finetune') {
    const args = parseCommand('export-run finetune', rest, finetuneOptions, help);
    if (!args) return null;
    refuseExecutionFlags(command, args.values);
    if (args.values['save-adapters']) {
      throw new UserError('export-run finetune: --save-adapters does not carry into a PyTorch run (it trains every parameter): drop it');
    }
    const { recipe, data, init } = await planFinetune(args.values, say);
    return { recipe, data, init, command: 'finetune', evalEvery: int('eval-every', args.values['eval-every'], 1, 0) };
  }
  throw new UserError('export-run: after OUT, pass train FLAGS, finetune FLAGS or --from RUN_DIR (see vitkit export-run --help)');
}

export async function main(argv: string[]): Promise<void> {
  const split = argv.findIndex((a) => a === 'train' || a === 'finetune');
  const own = split < 0 ? argv : argv.slice(0, split);
  const args = parseCommand('export-run', own, ownOptions, help);
  if (!args) return;
  const [out, extra] = args.positionals;
  if (!out) throw new UserError('export-run: pass the output folder OUT (see vitkit export-run --help)');
  if (extra) throw new UserError(`export-run: unexpected argument '${extra}' (expected train, finetune or --from RUN_DIR)`);
  const v = args.values;
  const nproc = int('nproc', v.nproc, 1);
  const say = (s: string) => v.json || console.error(s);
  assertWritable(out, { force: v.force }); // before any slow loading
  const run = await runFrom(split < 0 ? undefined : argv[split], split < 0 ? [] : argv.slice(split + 1), v.from, say);
  if (!run) return;
  const images = run.data.train.n + run.data.test.n;
  const bar = v.json ? undefined : progressBar('exporting images', images, '{bar} {value}/{total} images');
  let done = 0;
  const r = await exportRun(out, run, { force: v.force, nproc, onImage: () => bar?.update(++done) });
  bar?.stop();
  if (v.json) return printJson({ kind: 'export-run', ...r });
  console.log(`wrote ${out}: ${r.totalSteps} steps (${r.stepsPerEpoch} per epoch), ${r.images} images`);
  console.log(`run it: bash ${out}/run.sh   (NPROC_PER_NODE=8, NNODES, NODE_RANK, MASTER_ADDR: see ${out}/README.md)`);
}
