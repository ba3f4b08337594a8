// Inference throughput: vitkit fp32 and int8 vs PyTorch + timm eager (fp32, and int8 by
// torch.ao.quantization.quantize_dynamic) and onnxruntime on timm's own ONNX export (fp32, and int8 by
// onnxruntime's quantize_dynamic), all measured in the same run on this machine. One JSON line per
// architecture × batch, with the CPU. Run: npm run bench  (VITKIT_PYTHON=path/to/python picks the reference's Python)
// Options: --archs a,b --batches 8,1 --threads N --seconds S --rounds R. An arch is a preset name, or NAME@SIZE for
// the preset at another input size (both sides build it at SIZE px: DINOv2's presets are 518 px, timm's pretrained
// size, and are compared at 224). The reference needs torch, timm, onnx and onnxruntime; without them only vitkit's
// figures are printed, with the reason.
// On a shared machine a burst of load from elsewhere hits whichever side is being timed, so each line also has
// `in_turn`: vitkit's fp32 and int8 graphs and onnxruntime's two of timm's export (kept by reference.py), run one
// after the other in this process for R rounds (median ms per batch), so that a load hits all four alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../src/errors.ts';
import { benchmarkInference, benchmarkModel } from '../src/inference/benchmark.ts';
import { preset } from '../src/model/config.ts';
import { type Feeds, Session } from '../src/runtime/session.ts';
import { machine, python } from './machine.ts';

const { values } = parseArgs({
  options: {
    archs: { type: 'string' }, batches: { type: 'string' }, threads: { type: 'string' },
    seconds: { type: 'string' }, rounds: { type: 'string' },
  },
});
const defaultArchs = 'vit_small_patch16_224,vit_base_patch16_224,vit_small_r26_s32_224,vit_small_patch14_dinov2@224';
const archs = (values.archs ?? defaultArchs).split(',');
const batches = (values.batches ?? '8,1').split(',').map(Number);
const threads = Number(values.threads ?? availableParallelism());
const seconds = Number(values.seconds ?? 8);
const rounds = Number(values.rounds ?? 10);

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

function reference(arch: string, batch: number, onnxDir: string, imgSize?: number): Record<string, unknown> {
  const script = new URL('./reference.py', import.meta.url).pathname;
  const args = [script, arch, String(batch), String(threads), String(seconds), ...(imgSize ? [String(imgSize)] : [])];
  const r = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, VITKIT_REFERENCE_ONNX_DIR: onnxDir } });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { reference_error: (r.stderr || String(r.error)).trim().split('\n').pop() };
  return JSON.parse(line) as Record<string, unknown>;
}

/** A model to time: ONNX bytes or a file, and its input. */
type Timed = { onnx: Uint8Array | string; feeds: Feeds };

/** Median ms per batch of each model, run in turn for `rounds` rounds after two untimed runs each. */
async function inTurn(models: Record<string, Timed>): Promise<Record<string, number>> {
  const open = async ([name, m]: [string, Timed]) => [name, await Session.create(m.onnx, { threads }), m.feeds] as const;
  const sessions = await Promise.all(Object.entries(models).map(open));
  const times = new Map<string, number[]>(sessions.map(([name]) => [name, []]));
  for (const [, s, feeds] of sessions) for (let i = 0; i < 2; i++) await s.run(feeds);
  for (let r = 0; r < rounds; r++) {
    for (const [name, s, feeds] of sessions) {
      await new Promise((done) => setTimeout(done, 50)); // the previous session's threads stop spinning
      const t0 = performance.now();
      await s.run(feeds);
      times.get(name)!.push(performance.now() - t0);
    }
  }
  for (const [, s] of sessions) await s.release();
  return Object.fromEntries([...times].map(([name, ts]) => [name, ts.sort((a, b) => a - b)[ts.length >> 1]!]));
}

// Every name is checked before the first (minutes-long) measurement.
const models = archs.map(parseArch).map(({ name, imgSize }) => {
  return { arch: name, imgSize, cfg: preset(name, imgSize === undefined ? {} : { imgSize }) };
});
for (const { arch, imgSize, cfg } of models) {
  for (const batch of batches) {
    const fp32 = await benchmarkInference(cfg, { batch, threads, minSeconds: seconds });
    const int8 = await benchmarkInference(cfg, { batch, threads, minSeconds: seconds, precision: 'int8' });
    const onnxDir = mkdtempSync(join(tmpdir(), 'vitkit-bench-'));
    const ref = reference(arch, batch, onnxDir, imgSize);
    const peer = (file: string) => join(onnxDir, file);
    const vitkitModel = (precision: 'fp32' | 'int8'): Timed => {
      const { onnx, images } = benchmarkModel(cfg, { batch, precision });
      return { onnx, feeds: { images } };
    };
    const fp32Model = vitkitModel('fp32');
    const x = fp32Model.feeds.images;
    const turn = existsSync(peer('model_int8.onnx'))
      ? await inTurn({
        vitkit_ms: fp32Model,
        vitkit_int8_ms: vitkitModel('int8'),
        ort_timm_export_ms: { onnx: peer('model.onnx'), feeds: { x } },
        ort_timm_export_int8_ms: { onnx: peer('model_int8.onnx'), feeds: { x } },
      })
      : null;
    rmSync(onnxDir, { recursive: true, force: true });
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
        ...(turn ? {
          in_turn: { rounds, ...turn },
          in_turn_ratio_vs_ort_timm_export: turn.ort_timm_export_ms! / turn.vitkit_ms!,
          in_turn_int8_ratio_vs_ort_int8: turn.ort_timm_export_int8_ms! / turn.vitkit_int8_ms!,
        } : {}),
      }),
    );
  }
}
