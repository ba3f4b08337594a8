// Inference throughput: vitkit fp32 and int8 vs PyTorch + timm eager (fp32, and int8 by
// torch.ao.quantization.quantize_dynamic) and onnxruntime on timm's own ONNX export (fp32, and int8 by
// onnxruntime's quantize_dynamic), all measured in the same run on this machine. One JSON line per
// architecture × batch, with the CPU. Run: npm run bench  (VITKIT_PYTHON=path/to/python picks the reference's Python)
// Options: --archs a,b --batches 8,1 --threads N --seconds S. An arch is a preset name, or NAME@SIZE for the preset
// at another input size (both sides build it at SIZE px: DINOv2's presets are 518 px, timm's pretrained size, and
// are compared at 224). The reference needs torch, timm, onnx and onnxruntime; without them only vitkit's figures
// are printed, with the reason.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { UserError } from '../src/errors.ts';
import { benchmarkInference } from '../src/inference/benchmark.ts';
import { preset } from '../src/model/config.ts';
import { machine, python } from './machine.ts';

const { values } = parseArgs({
  options: { archs: { type: 'string' }, batches: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' } },
});
const defaultArchs = 'vit_small_patch16_224,vit_base_patch16_224,vit_small_r26_s32_224,vit_small_patch14_dinov2@224';
const archs = (values.archs ?? defaultArchs).split(',');
const batches = (values.batches ?? '8,1').split(',').map(Number);
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds ?? 8);

/** `name` or `name@size`: the preset, and the input size when it is not the preset's own. */
function parseArch(spec: string): { name: string; imgSize?: number } {
  const [name, size] = spec.split('@');
  if (size === undefined) return { name };
  const imgSize = Number(size);
  if (!Number.isInteger(imgSize) || imgSize < 1) {
    throw new UserError(`--archs: '${spec}' is not NAME@SIZE with SIZE in px (e.g. vit_small_patch14_dinov2@224)`);
  }
  return { name, imgSize };
}

function reference(arch: string, batch: number, imgSize?: number): Record<string, unknown> {
  const script = new URL('./reference.py', import.meta.url).pathname;
  const args = [script, arch, String(batch), String(threads), String(seconds), ...(imgSize ? [String(imgSize)] : [])];
  const r = spawnSync(python, args, { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { reference_error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

// Every name is checked before the first (minutes-long) measurement.
const models = archs.map(parseArch).map(({ name, imgSize }) => {
  return { arch: name, imgSize, cfg: preset(name, imgSize === undefined ? {} : { imgSize }) };
});
for (const { arch, imgSize, cfg } of models) {
  for (const batch of batches) {
    const fp32 = await benchmarkInference(cfg, { batch, threads, minSeconds: seconds });
    const int8 = await benchmarkInference(cfg, { batch, threads, minSeconds: seconds, precision: 'int8' });
    const ref = reference(arch, batch, imgSize);
    const num = (key: string) => (typeof ref[key] === 'number' ? (ref[key] as number) : null);
    const ratio = (ours: number, key: string) => (num(key) ? ours / num(key)! : null);
    const fastest = (keys: string[]) => Math.max(...keys.map((k) => num(k) ?? 0)) || null;
    const bestFp32 = fastest(['pytorch_images_per_sec', 'ort_timm_export_images_per_sec']);
    const bestInt8 = fastest(['pytorch_int8_images_per_sec', 'ort_timm_export_int8_images_per_sec']);
    console.log(
      JSON.stringify({
        arch,
        img_size: cfg.imgSize,
        batch,
        threads,
        machine: machine(), // read after measuring: its load covers the last minute of it
        vitkit_images_per_sec: fp32.images_per_sec,
        vitkit_ms_per_batch: fp32.ms_per_batch,
        vitkit_int8_images_per_sec: int8.images_per_sec,
        vitkit_int8_ms_per_batch: int8.ms_per_batch,
        ...ref,
        int8_speedup: int8.images_per_sec / fp32.images_per_sec,
        ratio_vs_pytorch: ratio(fp32.images_per_sec, 'pytorch_images_per_sec'),
        ratio_vs_ort_timm_export: ratio(fp32.images_per_sec, 'ort_timm_export_images_per_sec'),
        ratio_vs_fastest_fp32_peer: bestFp32 ? fp32.images_per_sec / bestFp32 : null,
        int8_ratio_vs_pytorch_int8: ratio(int8.images_per_sec, 'pytorch_int8_images_per_sec'),
        int8_ratio_vs_ort_int8: ratio(int8.images_per_sec, 'ort_timm_export_int8_images_per_sec'),
        int8_ratio_vs_fastest_int8_peer: bestInt8 ? int8.images_per_sec / bestInt8 : null,
      }),
    );
  }
}
