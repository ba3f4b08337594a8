// vitkit bench --arch NAME | --checkpoint PATH: inference throughput of an architecture or a real checkpoint.
import { UserError } from '../errors.ts';
import { benchmarkInference } from '../inference/benchmark.ts';
import { defaultBatch, modelDevice } from '../inference/classifier.ts';
import { preset } from '../model/config.ts';
import { parseDevice } from '../runtime/devices.ts';
import { loadModelFromFlags } from './load-model.ts';
import { modelFlags, numberFlag, parseCommand, precisionFlag, threadsFlag } from './args.ts';

const help = `
Usage: vitkit bench (--arch NAME | --checkpoint PATH) [--batch 8] [--img-size N] [--threads N] [--seconds 5]
                   [--precision fp32|fp16|int8] [--int8] [--device D] [--json]

Measures steady-state inference throughput (warm-up, then timed runs) of the logits (pooled features for a
model without a head) on a fixed batch of synthetic images.
  --arch NAME        a preset such as vit_small_patch16_224 on random weights (an unknown name lists them all)
  --checkpoint PATH  a real checkpoint, as predict takes it (an int8 one from vitkit quantize runs in int8);
                     --revision, --heads, --ln-eps and --pool as in predict
  --batch B          images per run (default 8; 64 on a GPU)
  --img-size N       input resolution (default: the preset's or checkpoint's)
  --threads N        onnxruntime intra-op threads (default: all cores)
  --seconds S        minimum timed duration (default 5)
  --precision P      fp32 (default), fp16 (float16 compute: for GPUs with f16 shaders, --device webgpu; on the CPU
                     it runs but is not faster) or int8
  --int8             short for --precision int8: int8 linear layers (weights quantized per output channel; CPU only)
  --device D         cpu (default), webgpu, or auto (webgpu when an adapter is found; see vitkit info --devices)
  --json             print {"arch" or "checkpoint", "precision", "device", "batch", "images_per_sec", "ms_per_batch",
                     "gflops_per_sec"}
`;

const { checkpoint, revision, heads, 'ln-eps': lnEps, pool, precision, int8, threads, 'img-size': imgSize, device } = modelFlags;
const options = {
  arch: { type: 'string' }, checkpoint, revision, heads, 'ln-eps': lnEps, pool, precision, int8, threads, 'img-size': imgSize, device,
  batch: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('bench', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (!v.arch === !v.checkpoint) throw new UserError('bench: give --arch NAME (e.g. vit_small_patch16_224) or --checkpoint PATH, not both');
  const batchFlag = v.batch === undefined ? undefined : numberFlag('batch', v.batch, 0, { integer: true, min: 1 });
  const model = v.checkpoint ? await loadModelFromFlags(v.checkpoint, v) : undefined;
  const imgSize = v['img-size'] === undefined ? {} : { imgSize: numberFlag('img-size', v['img-size'], 0, { integer: true, min: 1 }) };
  const cfg = model?.config ?? preset(v.arch!, imgSize);
  const precision = model?.precision ?? precisionFlag(v) ?? 'fp32';
  const { device, note } = await modelDevice(precision, parseDevice(v.device ?? 'cpu'), `bench ${v.checkpoint ?? `--arch ${v.arch}`}`);
  if (note) console.error(`vitkit: ${note}`);
  const batch = batchFlag ?? defaultBatch(device, 8);
  const minSeconds = numberFlag('seconds', v.seconds, 5, { min: 0 });
  const r = await benchmarkInference(cfg, { batch, precision, weights: model?.weights, device, threads: threadsFlag(v.threads), minSeconds });
  const { images_per_sec, ms_per_batch, gflops_per_sec } = r;
  const name = v.checkpoint ? { checkpoint: v.checkpoint } : { arch: v.arch };
  if (v.json) console.log(JSON.stringify({ ...name, precision, device, batch, images_per_sec, ms_per_batch, gflops_per_sec }));
  else {
    const rate = `${images_per_sec.toFixed(1)} img/s, ${ms_per_batch.toFixed(1)} ms/batch, ${gflops_per_sec.toFixed(0)} GFLOP/s`;
    console.log(`${v.checkpoint ?? v.arch} ${precision} on ${device}, batch ${batch}: ${rate} (${r.runs} runs)`);
  }
}
