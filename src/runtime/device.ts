// `--device auto` for training: WebGPU when onnxruntime-node finds an adapter, else the CPU. A minimal resolver with
// the API of the inference side's (branch gpu-runtime, src/runtime/devices.ts: parseDevice, resolveDevice), so that
// merging the two is a matter of keeping theirs and pointing the imports at it.
//
// onnxruntime-node exposes no adapter list; the one way to learn whether its WebGPU provider finds an adapter is to
// create a session on it (a failed request throws "Failed to get a WebGPU adapter"). Done once per process, in it:
// the Vulkan loader and Dawn then write their reasons to the native stderr (gpu-runtime's probe runs in a child
// process and reports them instead).
import { UserError } from '../errors.ts';
import { toOnnx } from '../graph/onnx.ts';
import { buildCopyGraph } from '../model/step-graph.ts';
import type { Engine } from './engine.ts';
import type { Device } from './session-options.ts';

/** A device, or 'auto': WebGPU when an adapter is found, else the CPU. */
export type DeviceChoice = Device | 'auto';

export const deviceChoices: readonly DeviceChoice[] = ['cpu', 'webgpu', 'auto'];

export interface ResolvedDevice {
  readonly device: Device;
  /** Set when 'auto' fell back to the CPU: why. */
  readonly note?: string;
}

/** Parses a --device value. */
export function parseDevice(value: string): DeviceChoice {
  if (!(deviceChoices as readonly string[]).includes(value)) throw new UserError(`unknown device '${value}' (expected ${deviceChoices.join('|')})`);
  return value as DeviceChoice;
}

const HINT = 'without a GPU, SwiftShader (Debian: chromium) stands in: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The device to run on: 'cpu' as is; 'webgpu' when `engine` finds an adapter, else a UserError saying why and the fix;
 * 'auto' → WebGPU when an adapter is found, else the CPU with a note saying why.
 */
export async function resolveDevice(choice: DeviceChoice, engine: Engine): Promise<ResolvedDevice> {
  if (choice === 'cpu') return { device: 'cpu' };
  const missing = await webGpuMissing(engine);
  if (missing === null) return { device: 'webgpu' };
  if (choice === 'webgpu') throw new UserError(`--device webgpu: no WebGPU adapter: ${missing} (${HINT}; or use --device cpu)`);
  return { device: 'cpu', note: `device auto: running on the CPU, no WebGPU adapter: ${missing}` };
}

const probes = new WeakMap<Engine, Promise<string | null>>();

/** Why `engine` has no WebGPU adapter, or null when it has one (probed once per engine). */
function webGpuMissing(engine: Engine): Promise<string | null> {
  let p = probes.get(engine);
  if (!p) {
    p = engine.createSession(toOnnx(buildCopyGraph(new Map([['x', [1]]]))), { device: 'webgpu' }).then(
      async (s) => (await s.release(), null),
      (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/^.*?(Failed to get a WebGPU adapter)/s, '$1').trim(),
    );
    probes.set(engine, p);
  }
  return p;
}
