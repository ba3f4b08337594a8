// Which device the page runs its models on: WebGPU when the browser gives an adapter, WebAssembly (the CPU)
// otherwise; `?device=webgpu|wasm` in the page's URL forces one (for tests, and to compare the two on one machine).
// Classify and teach both follow it. Each device has its onnxruntime-web build, imported only when chosen, so a
// page on WebAssembly never fetches the WebGPU build's binary (27 MB) and vice versa.
import type { Device } from '../src/runtime/session-options.ts';
import type { OrtWeb } from '../src/runtime/web-engine.ts';

export interface PageDevice {
  readonly device: Device;
  /** The adapter as the browser describes it (vendor, architecture, device); null on WebAssembly. */
  readonly adapter: string | null;
}

interface GpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}
type Gpu = { requestAdapter(): Promise<{ readonly info: GpuAdapterInfo } | null> };

/** The WebGPU adapter's description, or null where the browser has no WebGPU or no adapter for it. */
async function webgpuAdapter(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: Gpu }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const { vendor, architecture, device, description } = adapter.info;
  return [vendor, architecture, device].filter(Boolean).join(' ') || description || 'unnamed adapter';
}

/** The device for `search` (the page's query string): as forced by `device=`, else WebGPU where there is an adapter. */
export async function pageDevice(search: string): Promise<PageDevice> {
  const forced = new URLSearchParams(search).get('device');
  if (forced !== null && forced !== 'webgpu' && forced !== 'wasm') throw new Error(`unknown ?device=${forced} (expected webgpu or wasm)`);
  if (forced === 'wasm') return { device: 'cpu', adapter: null };
  const adapter = await webgpuAdapter();
  if (adapter) return { device: 'webgpu', adapter };
  if (forced === 'webgpu') throw new Error('?device=webgpu: this browser gives no WebGPU adapter (try ?device=wasm)');
  return { device: 'cpu', adapter: null };
}

/** onnxruntime-web's build for `device`: its WebGPU build (which also runs the ops WebGPU lacks), or the WASM one. */
export function loadOrt(device: Device): Promise<OrtWeb & typeof import('onnxruntime-web')> {
  return device === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm');
}

/** How the page names where it runs: "WebGPU (google swiftshader)", or "WASM SIMD, 2 threads". */
export function deviceLabel(d: PageDevice, threads: number): string {
  return d.device === 'webgpu' ? `WebGPU (${d.adapter})` : `WASM SIMD, ${threads} thread${threads > 1 ? 's' : ''}`;
}
