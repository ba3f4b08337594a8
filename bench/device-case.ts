// A benchmark case in a process of its own, and the GPU it ran on: what bench:gpu and bench:finetune share.
// A case in a fresh process has a peak memory of its own: its peak RSS (the child reports it), and on WebGPU the peak
// of nvidia-smi's memory.used during the case minus before it — the whole GPU's, since onnxruntime reports nothing of
// its WebGPU allocations (the benches run one thing at a time). Without nvidia-smi (SwiftShader: the "GPU" is the
// CPU) there is no GPU figure, and the line says so.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { Device } from '../src/runtime/session.ts';

/** What a WebGPU line says where no GPU memory could be measured. */
export const NO_GPU_MEMORY = 'not measured: no nvidia-smi, and onnxruntime reports no WebGPU allocations';

/** nvidia-smi's answer to a query (CSV, no header or units), or null where there is no nvidia-smi. */
function nvidiaSmi(query: string): string | null {
  const r = spawnSync('nvidia-smi', [`--query-gpu=${query}`, '--format=csv,noheader,nounits'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0]!.trim() : null;
}

/**
 * The GPU a WebGPU figure was measured on: nvidia-smi's name and driver (onnxruntime-node names no adapter, see
 * docs/gpu.md) and the Vulkan driver file the loader was given.
 */
export function gpuInfo(): { gpu: string | null; driver: string | null; vulkan_driver: string } {
  const vulkanDriver = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? "the loader's default";
  return { gpu: nvidiaSmi('name'), driver: nvidiaSmi('driver_version'), vulkan_driver: vulkanDriver };
}

/** Samples the GPU's used memory every 100 ms until stopped; null where there is no nvidia-smi. */
function gpuMemorySampler(): { stop: () => number | null } {
  const before = nvidiaSmi('memory.used');
  if (before === null) return { stop: () => null };
  const base = Number(before);
  let peak = base;
  const p: ChildProcess = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100']);
  p.stdout!.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach((l) => void (peak = Math.max(peak, Number(l)))));
  return { stop: () => (p.kill(), peak - base) };
}

/**
 * Runs the running script again with `flags` in a fresh process (however it was started: tsx from the sources, or
 * a bundle carried to the device machine, docs/gpu.md) and returns its last stdout line's JSON, with
 * `peak_gpu_memory_mb` on WebGPU (null where not measured); `{ error }` (its last stderr line) if it failed.
 */
export async function caseInChild(flags: readonly string[], device: Device): Promise<Record<string, unknown>> {
  const gpu = device === 'webgpu' ? gpuMemorySampler() : null;
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => void (out += d));
  child.stderr.on('data', (d: Buffer) => void (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const peakGpu = gpu?.stop() ?? null;
  const line = out.trim().split('\n').pop();
  if (code !== 0 || !line) return { error: err.trim().split('\n').filter((l) => !l.includes('[W:onnxruntime')).pop() ?? `exit ${code}` };
  return { ...(JSON.parse(line) as Record<string, unknown>), ...(device === 'webgpu' ? { peak_gpu_memory_mb: peakGpu } : {}) };
}
