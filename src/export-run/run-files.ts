// The launcher (run.sh) and the README.md of an exported run: plain text, from what the recipe says.
import type { RunToExport } from './export-run.ts';

/** torchrun with every topology setting overridable from the environment, as torchrun's own users expect. */
export function runScript(nproc: number): string {
  return `#!/usr/bin/env bash
# Runs train.py under torchrun: NPROC_PER_NODE processes on each of NNODES machines (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
exec torchrun --nproc_per_node "\${NPROC_PER_NODE:-${nproc}}" --nnodes "\${NNODES:-1}" --node_rank "\${NODE_RANK:-0}" \\
  --master_addr "\${MASTER_ADDR:-127.0.0.1}" --master_port "\${MASTER_PORT:-29500}" train.py "$@"
`;
}

/** How to run the folder, and what does not carry over exactly. */
export function readmeText(run: RunToExport, totalSteps: number): string {
  const r = run.recipe;
  const random = [r.dropout && 'dropout', r.dropPath && 'stochastic depth', ...Object.entries(r.augment).filter(([, v]) => v).map(([k]) => k)]
    .filter(Boolean);
  return `# A vitkit run for PyTorch

Written by \`vitkit export-run\` from \`vitkit ${run.command}\` (data: ${r.data}): ${totalSteps} steps of a global
batch of ${r.batch}${run.startStep ? `, continuing at step ${run.startStep}` : ''}. Needs Python with torch, timm, safetensors and pillow.

| file | what |
| --- | --- |
| recipe.json | every hyperparameter, resolved as vitkit resolved it |
| init.safetensors | the initial weights, timm names (strictly loadable into timm's VisionTransformer) |${run.carried ? carriedRows(run) : ''}
| data/ | the images as vitkit loaded them (PNG), train.tsv/test.tsv in vitkit's order, order.bin: each epoch's sample order |
| run.sh, train.py | torchrun launcher and the DDP training loop |

## Run it

- one GPU, or the CPU: \`bash run.sh\`
- several GPUs on one machine: \`NPROC_PER_NODE=8 bash run.sh\`
- several machines: on each, \`NNODES=4 NODE_RANK=<0..3> MASTER_ADDR=<rank 0's address> NPROC_PER_NODE=8 bash run.sh\`

GPUs use NCCL, the CPU gloo. The global batch stays ${r.batch} at any process count (each process takes its share of
every batch; the process count must divide it), so the schedule is the same. \`bash run.sh --steps N\` stops early,
\`--log-every N\` sets how often metrics.jsonl gets a step line.

Rank 0 writes \`output/\`: metrics.jsonl (vitkit's fields: \`vitkit plot output\` draws it) and model.safetensors with
config.json (timm's Hub layout; the EMA weights when the recipe keeps an EMA, output/last/ the raw ones). Back
in vitkit: \`vitkit eval --checkpoint output --data ${r.data}\` (also predict, finetune, export-onnx, serve).

## What carries over exactly, and what does not

Exact (to float32 rounding): the model and initial weights, the batches (vitkit's seeded order is replayed from
data/order.bin instead of DistributedSampler's), the learning-rate schedule, AdamW/SGD as torch.optim defines them
(vitkit's are the same formulas; biases, norms, position embedding and class token are not decayed), gradient
clipping at the global norm, label smoothing, gradient accumulation.
${
  random.length ? notExact(random) : '\nNothing random is on in this recipe, so train.py follows vitkit step for step.\n'
}${run.carried ? continued(run.carried.step) : ''}`;
}

const notExact = (random: readonly unknown[]): string => `
Not exact: ${random.join(', ')} draw from PyTorch's random streams (torchvision/timm transforms), not vitkit's:
the same distributions, other samples, so losses agree in distribution only.
`;

const carriedRows = ({ carried }: RunToExport): string => [
  carried!.optimizer.size
    ? `\n| optimizer.safetensors | the optimizer state at step ${carried!.step}: ` +
      "<torch.optim's key>.<parameter> (exp_avg, exp_avg_sq or momentum_buffer) |"
    : '',
  carried!.ema ? '\n| ema.safetensors | the EMA weights at that step, timm names (timm ModelEmaV2\'s module) |' : '',
].join('');

const continued = (step: number): string => `
A continued run carries the run's whole training state at step ${step}: its weights, the optimizer's (AdamW's moments
and step count, SGD's momentum) and the EMA, so train.py's next step is the one vitkit's resume would take.
`;
