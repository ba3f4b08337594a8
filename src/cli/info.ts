// vitkit info CHECKPOINT: what a checkpoint holds; vitkit info --devices: where models can run.
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { UserError } from '../errors.ts';
import { describeFamily, gridSize } from '../model/config.ts';
import { isQuantized } from '../model/int8.ts';
import { countParameters, forwardFlops } from '../model/params.ts';
import { describeBackbone } from '../model/resnet-v2.ts';
import { probeWebGpu } from '../runtime/devices.ts';
import { checkpointBytes, loadCheckpoint } from '../weights/checkpoint.ts';
import { configOverrides, parseCommand } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';

const help = `
Usage: vitkit info CHECKPOINT [--json] [--revision R] [--heads N] [--ln-eps E] [--pool token|avg] [--mlp quick_gelu]
       vitkit info --devices [--json]

Prints a checkpoint's format, inferred architecture, parameter count and GFLOPs per image.
CHECKPOINT: timm .safetensors/.pth, Hugging Face or timm directory, Google .npz, vitkit checkpoint, or a Hub id
(org/name), downloaded on first use (--revision R: its branch, tag or commit).
  --json     print {"path", "format", "config", "precision", "bytes", "parameters", "gflops", "labels"}
  --devices  the devices --device may name: the CPU, and whether onnxruntime's WebGPU provider finds an adapter
             (its Vulkan drivers on Linux, whether f16 shaders run) or why not and the fix; with --json
             {"cpu": {"model", "cores"}, "webgpu": {"available", "fp16", "reason", "fix", "drivers", "diagnostics"}}
`;

const options = {
  json: { type: 'boolean' },
  devices: { type: 'boolean' },
  revision: { type: 'string' },
  heads: { type: 'string' },
  'ln-eps': { type: 'string' },
  pool: { type: 'string' },
  mlp: { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('info', argv, options, help);
  if (!args) return;
  if (args.values.devices) {
    if (args.positionals.length) throw new UserError('info: --devices takes no checkpoint (see vitkit info --help)');
    return printDevices(args.values.json === true);
  }
  const [path, ...extra] = args.positionals;
  if (!path || extra.length) throw new UserError('info: give exactly one checkpoint path (see vitkit info --help)');
  const ckpt = loadCheckpoint(await localCheckpoint(path, args.values.revision), configOverrides(args.values));
  const info = {
    path,
    format: ckpt.format,
    config: ckpt.config,
    family: describeFamily(ckpt.config),
    precision: isQuantized(ckpt.weights) ? 'int8' : 'fp32',
    bytes: checkpointBytes(ckpt.path), // the resolved file or folder, not a Hub id
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
  const tokens = c.backbone ? `hybrid, projection ${c.patchSize}×${c.patchSize} on the backbone's feature map` : `patch ${c.patchSize}`;
  const encoder = c.depth ? `depth ${c.depth}, ${c.numHeads} heads, MLP ${c.mlpDim}` : 'no encoder blocks (the backbone with a linear head)';
  console.log(`  architecture  ${info.family}, ${c.imgSize} px, ${tokens}, ${c.inChans} channel(s), D ${c.embedDim}, ${encoder}`);
  if (c.backbone) console.log(`  backbone      ${describeBackbone(c.backbone)}, ${gridSize(c)}×${gridSize(c)} tokens`);
  console.log(
    `  head          ${c.numClasses} classes, pool ${c.pool}${c.preLogitsDim ? `, pre-logits ${c.preLogitsDim}` : ''}` +
      `${c.classToken ? '' : ', no class token'}`,
  );
  console.log(`  layer norm    eps ${c.layerNormEps}`);
  const resampled = c.relPosBias ? 'relative position bias tables' : 'position embeddings';
  if (c.depth) console.log(`  other sizes   ${resampled} resampled as ${c.posResample ?? 'timm'} does`);
  console.log(`  parameters    ${info.parameters.toLocaleString('en-US')}`);
  console.log(
    `  precision     ${info.precision === 'int8' ? 'int8 linear layers (per-channel scales), the rest float32' : 'float32'}; ` +
      `${(info.bytes / 2 ** 20).toFixed(2)} MiB on disk`,
  );
  console.log(`  compute       ${info.gflops.toFixed(2)} GFLOPs per image`);
  if (info.labels) console.log(`  labels        ${info.labels} (${ckpt.labels!.slice(0, 3).join(', ')}, …)`);
}

async function printDevices(json: boolean): Promise<void> {
  const cpu = { model: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length };
  const webgpu = await probeWebGpu();
  if (json) {
    console.log(JSON.stringify({ cpu, webgpu: { ...webgpu, ms: Math.round(webgpu.ms) } }));
    return;
  }
  console.log(`cpu     ${cpu.model}, ${cpu.cores} cores`);
  // onnxruntime-node names no adapter: with several Vulkan drivers, Dawn picks one (the high-performance kind)
  const drivers = webgpu.drivers.map((d) => `${basename(d.library || d.manifest)}${d.exists ? '' : ' (missing)'}`).join(', ');
  if (webgpu.available) {
    console.log(`webgpu  available${drivers ? ` (Vulkan driver: ${drivers})` : ''}; f16 shaders: ${webgpu.fp16 ? 'yes' : 'no'}`);
    return;
  }
  console.log(`webgpu  not available: ${webgpu.reason}`);
  console.log(`        fix: ${webgpu.fix}`);
  for (const d of webgpu.diagnostics.slice(0, 5)) console.log(`        ${d}`);
}
