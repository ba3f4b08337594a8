// vitkit bench --arch NAME --batch B: inference throughput on random weights.
import { UserError } from '../errors.ts';
import { benchmarkInference } from '../inference/benchmark.ts';
import { modelDevice } from '../inference/classifier.ts';
import { preset } from '../model/config.ts';
import { parseDevice } from '../runtime/devices.ts';
import { numberFlag, parseCommand, threadsFlag } from './args.ts';

const help = `
Usage: vitkit bench --arch NAME [--batch 8] [--img-size N] [--threads N] [--seconds 5] [--int8] [--device D] [--json]

Measures steady-state inference throughput of a randomly initialised model (warm-up, then timed runs).
  --arch NAME       a preset such as vit_small_patch16_224 (vitkit info --help lists how to inspect one)
  --batch B         images per run (default 8)
  --img-size N      input resolution (default: the preset's)
  --threads N       onnxruntime intra-op threads (default: all cores)
  --seconds S       minimum timed duration (default 5)
  --int8            int8 linear layers (weights quantized per output channel; CPU only)
  --device D        cpu (default), webgpu, or auto (webgpu when an adapter is found; see vitkit info --devices)
  --json            print {"arch", "precision", "device", "batch", "images_per_sec", "ms_per_batch", "gflops_per_sec"}
`;

const options = {
  arch: { type: 'string' },
  batch: { type: 'string' },
  'img-size': { type: 'string' },
  threads: { type: 'string' },
  seconds: { type: 'string' },
  int8: { type: 'boolean' },
  device: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('bench', argv, options, help);
  if (!args) return;
  const v = args.values;
  if (!v.arch) throw new UserError('bench: --arch NAME is required, e.g. --arch vit_small_patch16_224');
  const cfg = preset(v.arch, v['img-size'] ? { imgSize: numberFlag('img-size', v['img-size'], 0, { integer: true, min: 1 }) } : {});
  const batch = numberFlag('batch', v.batch, 8, { integer: true, min: 1 });
  const precision = v.int8 ? 'int8' : 'fp32';
  const choice = parseDevice(v.device ?? 'cpu');
  const { device, note } = await modelDevice(precision, choice, `bench --arch ${v.arch}`);
  if (note) console.error(`vitkit: ${note}`);
  const minSeconds = numberFlag('seconds', v.seconds, 5, { min: 0 });
  const r = await benchmarkInference(cfg, { batch, precision, device, threads: threadsFlag(v.threads), minSeconds });
  const out = { arch: v.arch, precision, device, batch, images_per_sec: r.images_per_sec, ms_per_batch: r.ms_per_batch, gflops_per_sec: r.gflops_per_sec };
  if (v.json) console.log(JSON.stringify(out));
  else console.log(`${v.arch} ${precision} on ${device}, batch ${batch}: ${r.images_per_sec.toFixed(1)} img/s, ${r.ms_per_batch.toFixed(1)} ms/batch, ${r.gflops_per_sec.toFixed(0)} GFLOP/s (${r.runs} runs)`);
}
