// Which device a session runs on (Node side): `--device auto` resolution, and the WebGPU probe behind it and
// behind `vitkit info --devices`.
//
// onnxruntime-node 1.30 exposes no adapter list (no navigator.gpu, `ort.env.webgpu` stays empty, the verbose log
// names no adapter): the only way to learn whether its WebGPU EP finds an adapter is to create a session on it.
// The probe does that in a child process, for three reasons: a wedged driver cannot hang this process (the child
// is killed after PROBE_TIMEOUT_MS); Dawn writes why it refused each Vulkan driver to the native stderr, which only
// a parent can read; and a failed adapter request leaves nothing behind in this process's onnxruntime. It costs
// about a second (SwiftShader) and runs at most once per process.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { UserError } from '../errors.ts';
import { Graph } from '../graph/graph.ts';
import { toOnnx } from '../graph/onnx.ts';
import { add, cast } from '../ops/elementwise.ts';
import type { Device } from './session-options.ts';

/** A device, or 'auto': WebGPU when an adapter is found, else the CPU. */
export type DeviceChoice = Device | 'auto';

export const deviceChoices: readonly DeviceChoice[] = ['cpu', 'webgpu', 'auto'];

/** A Vulkan driver the loader will try: an ICD manifest and the library it names. */
export interface VulkanDriver {
  readonly manifest: string;
  /** The driver library (`library_path`), or '' when the manifest is missing or unreadable. */
  readonly library: string;
  readonly exists: boolean;
}

/** What the WebGPU probe found. */
export interface WebGpuProbe {
  readonly available: boolean;
  /** Whether f16 shaders run (WebGPU's `shader-f16` feature): an f16 Add ran on the adapter. */
  readonly fp16: boolean;
  /** Why no adapter was found, and what to do about it (both absent when one was). */
  readonly reason?: string;
  readonly fix?: string;
  /** Linux: the Vulkan drivers the loader tries (VK_ICD_FILENAMES / VK_DRIVER_FILES, else the standard folders). */
  readonly drivers: readonly VulkanDriver[];
  /** Dawn's and onnxruntime's own messages from the probe (which driver was refused, and why). */
  readonly diagnostics: readonly string[];
  readonly ms: number;
}

export interface ResolvedDevice {
  readonly device: Device;
  /** Set when 'auto' fell back to the CPU: why. */
  readonly note?: string;
}

const PROBE_TIMEOUT_MS = 30_000;
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const SWIFTSHADER_HINT = 'without a GPU, SwiftShader (Debian: chromium) stands in: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';

/** Parses a --device value. */
export function parseDevice(value: string): DeviceChoice {
  if (!(deviceChoices as readonly string[]).includes(value)) throw new UserError(`unknown device '${value}' (expected ${deviceChoices.join('|')})`);
  return value as DeviceChoice;
}

export interface DeviceNeeds {
  /** The graph computes in float16: WebGPU only on an adapter with f16 shaders (`shader-f16`). */
  readonly fp16?: boolean;
}

/**
 * The device to run on: 'cpu' as is; 'webgpu' when the probe finds an adapter (with f16 shaders if `needs.fp16`),
 * else a UserError saying why and the fix; 'auto' → WebGPU when such an adapter is found, else the CPU with a note
 * saying why.
 */
export async function resolveDevice(choice: DeviceChoice, needs: DeviceNeeds = {}): Promise<ResolvedDevice> {
  if (choice === 'cpu') return { device: 'cpu' };
  const probe = await probeWebGpu();
  if (probe.available && (probe.fp16 || !needs.fp16)) return { device: 'webgpu' };
  if (choice === 'webgpu') throw probe.available ? noShaderF16() : noAdapter(probe);
  const why = probe.available ? 'the WebGPU adapter has no f16 shaders (shader-f16) for --precision fp16' : `no WebGPU adapter: ${probe.reason}`;
  return { device: 'cpu', note: `device auto: running on the CPU, ${why}` };
}

/** The one-line error for fp16 on an adapter without f16 shaders. */
export function noShaderF16(): UserError {
  return new UserError(
    '--precision fp16 --device webgpu: the WebGPU adapter has no f16 shaders (WebGPU\'s shader-f16; SwiftShader has none): ' +
      'use --precision fp32, or a GPU with shader-f16 (vitkit info --devices says whether it has them)',
  );
}

/** The one-line error for a WebGPU that cannot be had. */
export function noAdapter(probe: WebGpuProbe): UserError {
  return new UserError(`--device webgpu: no WebGPU adapter: ${probe.reason} (${probe.fix}; or use --device cpu)`);
}

let cached: Promise<WebGpuProbe> | undefined;

/** Looks for a WebGPU adapter through onnxruntime-node (once per process; see the file's header). */
export function probeWebGpu(): Promise<WebGpuProbe> {
  cached ??= runProbe();
  return cached;
}

/** The Vulkan drivers the loader will try (Linux): the env's list when set, else every manifest in ICD_DIRS. */
export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env): VulkanDriver[] {
  const listed = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const manifests = listed
    ? listed.split(':').filter(Boolean)
    : ICD_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).sort().map((f) => join(d, f)) : []));
  return manifests.map((manifest) => {
    try {
      const library = String((JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
      return { manifest, library, exists: true };
    } catch {
      return { manifest, library: '', exists: existsSync(manifest) };
    }
  });
}

/** Two one-op models for the child: y = x + x in float32, and the same through float16 (needs shader-f16). */
function probeModels(): [Uint8Array, Uint8Array] {
  const model = (fp16: boolean) => {
    const g = new Graph('probe');
    const x = g.input('x', 'float32', [2]);
    const h = fp16 ? cast(x, 'float16') : x;
    const s = add(h, h);
    g.output(fp16 ? cast(s, 'float32') : s, 'y');
    return toOnnx(g);
  };
  return [model(false), model(true)];
}

// The child: CommonJS through `node -e`, so it needs neither tsx nor a file. `disable_cpu_ep_fallback` makes session
// creation fail unless every node runs on WebGPU, so a session that runs proves the adapter, not the CPU.
const CHILD = `
const ort = require(process.argv[1]);
const opts = { executionProviders: ['webgpu'], logSeverityLevel: 3, extra: { session: { disable_cpu_ep_fallback: '1' } } };
async function twice(b64) {
  const s = await ort.InferenceSession.create(Buffer.from(b64, 'base64'), opts);
  const y = (await s.run({ x: new ort.Tensor('float32', Float32Array.of(1.5, -2), [2]) })).y.data;
  await s.release();
  return y[0] === 3 && y[1] === -4;
}
(async () => {
  const out = { available: false, fp16: false };
  try { out.available = await twice(process.argv[2]); } catch (e) { out.error = String(e && e.message || e); }
  if (out.available) try { out.fp16 = await twice(process.argv[3]); } catch (e) { out.fp16Error = String(e && e.message || e); }
  process.stdout.write(JSON.stringify(out));
})();`;

interface ChildResult {
  available?: boolean;
  fp16?: boolean;
  error?: string;
}

async function runProbe(): Promise<WebGpuProbe> {
  const start = performance.now();
  const drivers = process.platform === 'linux' ? vulkanDrivers() : [];
  const done = (r: Omit<WebGpuProbe, 'drivers' | 'ms'>): WebGpuProbe => ({ ...r, drivers, ms: performance.now() - start });
  // imported here, not at the top: the CLI's flag parsing imports this file, and most commands never probe
  const { listSupportedBackends } = await import('onnxruntime-node');
  if (!listSupportedBackends().some((b) => b.name === 'webgpu')) {
    const build = `${process.platform}-${process.arch}`;
    const reason = `this onnxruntime-node build (${build}) has no WebGPU execution provider`;
    return done({ available: false, fp16: false, reason, fix: 'use Linux x64, or run in a browser with vitkit/web', diagnostics: [] });
  }
  const [f32, f16] = probeModels().map((m) => Buffer.from(m).toString('base64'));
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const { stdout, stderr, timedOut } = await runChild([ortPath, f32!, f16!]);
  // onnxruntime colours its error lines (ANSI escapes)
  const lines = stderr.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim());
  const diagnostics = lines.filter((l) => l && !/XDG_RUNTIME_DIR|^at |^- While/.test(l));
  let result: ChildResult = {};
  try {
    result = JSON.parse(stdout) as ChildResult;
  } catch {
    // the child crashed or was killed: explained below from its stderr
  }
  if (result.available) return done({ available: true, fp16: result.fp16 === true, diagnostics });
  const why = timedOut
    ? { reason: `the probe did not finish in ${PROBE_TIMEOUT_MS / 1000} s`, fix: 'check the GPU driver (e.g. nvidia-smi)' }
    : explain(`${stderr}\n${result.error ?? ''}`, drivers);
  return done({ available: false, fp16: false, ...why, diagnostics: result.error ? [...diagnostics, firstLine(result.error)] : diagnostics });
}

function runChild(args: string[]): Promise<{ stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-20_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROBE_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr, timedOut });
    });
  });
}

export interface Explanation {
  readonly reason: string;
  readonly fix: string;
}

/** Why no adapter was found, from what Dawn and onnxruntime said and which drivers are installed. */
export function explain(messages: string, drivers: readonly VulkanDriver[], env: NodeJS.ProcessEnv = process.env): Explanation {
  if (process.platform === 'linux') {
    if (/Couldn't load Vulkan/.test(messages)) {
      const fix = 'install it (Debian/Ubuntu: apt install libvulkan1) and a Vulkan driver';
      return { reason: 'no Vulkan loader (libvulkan.so.1 is not installed)', fix };
    }
    const variable = env.VK_DRIVER_FILES ? 'VK_DRIVER_FILES' : 'VK_ICD_FILENAMES';
    const missing = drivers.find((d) => !d.exists);
    if (missing && (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES)) {
      const fix = `point ${variable} at a driver's ICD manifest or unset it; ${SWIFTSHADER_HINT}`;
      return { reason: `${variable} names ${missing.manifest}, which does not exist`, fix };
    }
    if (drivers.length === 0) {
      const fix = `install the GPU's Vulkan driver (NVIDIA: its proprietary driver); ${SWIFTSHADER_HINT}`;
      return { reason: `no Vulkan driver (no ICD manifest in ${ICD_DIRS.join(', ')})`, fix };
    }
    const refused = /Warning: (.+)/.exec(messages)?.[1];
    const names = drivers.map((d) => basename(d.library || d.manifest)).join(', ');
    return {
      reason: `no Vulkan driver offered an adapter Dawn accepts (tried ${names}${refused ? `; Dawn: ${refused.trim()}` : ''})`,
      fix: `install the GPU's Vulkan driver (NVIDIA: its proprietary driver; Mesa's lavapipe is refused); ${SWIFTSHADER_HINT}`,
    };
  }
  const said = firstLine(/Failed to get a WebGPU adapter[^\n]*/.exec(messages)?.[0] ?? messages);
  return { reason: said || 'onnxruntime found no WebGPU adapter', fix: 'update the GPU driver (Metal on macOS, D3D12 on Windows)' };
}

/** The first line of an onnxruntime error, without its source location (`/onnxruntime_src/…cc:136 … was false.`). */
function firstLine(s: string): string {
  return s.trim().split('\n')[0]!.replace(/^.*?(Failed to get a WebGPU adapter)/, '$1').slice(0, 300);
}
