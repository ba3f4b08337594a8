// Inference throughput: vitkit vs PyTorch + timm eager and onnxruntime on timm's own ONNX export, measured in
// the same run (batch 8, 224 px, fp32). Prints one JSON line per architecture. Run: npm run bench
// Options: --archs a,b --batch N --threads N --seconds S. The reference needs python3 with torch, timm, onnx and
// onnxruntime; without them only vitkit's figures are printed.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { benchmarkInference } from '../src/inference/benchmark.ts';
import { preset } from '../src/model/config.ts';

const { values } = parseArgs({
  options: { archs: { type: 'string' }, batch: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' } },
});
const archs = (values.archs ?? 'vit_small_patch16_224,vit_base_patch16_224').split(',');
const batch = Number(values.batch ?? 8);
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds ?? 10);

function reference(arch: string): Record<string, unknown> {
  const r = spawnSync('python3', [new URL('./reference.py', import.meta.url).pathname, arch, String(batch), String(threads), String(seconds)], {
    encoding: 'utf8',
  });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { reference_error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

for (const arch of archs) {
  const ours = await benchmarkInference(preset(arch), { batch, threads, minSeconds: seconds });
  const ref = reference(arch);
  const ratio = (key: string) => (typeof ref[key] === 'number' ? ours.images_per_sec / (ref[key] as number) : null);
  console.log(
    JSON.stringify({
      arch,
      batch,
      threads,
      vitkit_images_per_sec: ours.images_per_sec,
      vitkit_gflops_per_sec: ours.gflops_per_sec,
      ...ref,
      ratio_vs_pytorch: ratio('pytorch_images_per_sec'),
      ratio_vs_ort_timm_export: ratio('ort_timm_export_images_per_sec'),
    }),
  );
}
