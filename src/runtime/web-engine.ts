// onnxruntime-web as a training engine (the `vitkit/web` entry's). The page passes the module it imported, so
// vitkit never imports onnxruntime-web itself (an optional peer dependency) and the page picks the build
// ('onnxruntime-web/wasm', or the full one for WebGPU).
import type { Engine } from './engine.ts';

/** What of onnxruntime-web's module the engine uses. */
export interface OrtWeb {
  readonly Tensor: Engine['Tensor'];
  readonly InferenceSession: { create(model: Uint8Array, options?: object): ReturnType<Engine['createSession']> };
  readonly env: { readonly wasm: { numThreads?: number; proxy?: boolean } };
}

/**
 * An engine over onnxruntime-web's WebAssembly backend (SIMD; threads when the page is cross-origin isolated,
 * since WebAssembly threads need SharedArrayBuffer). Its thread count is global to the module and fixed when its
 * first session starts the runtime, so it is set here, from `threads` (default: the cores, at most 4, as
 * onnxruntime-web's own default) or 1 without isolation. `SessionOptions.threads` is therefore not used per session.
 */
export function webEngine(ort: OrtWeb, opts: { threads?: number; isolated?: boolean; cores?: number } = {}): Engine & { readonly threads: number } {
  const isolated = opts.isolated ?? (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated ?? false;
  const cores = opts.cores ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const threads = isolated ? (opts.threads ?? Math.min(4, cores)) : 1;
  ort.env.wasm.numThreads = threads;
  return {
    name: 'onnxruntime-web',
    threads,
    Tensor: ort.Tensor,
    createSession: (model, o) =>
      ort.InferenceSession.create(model, {
        executionProviders: [o.device === 'webgpu' ? 'webgpu' : 'wasm'],
        graphOptimizationLevel: o.optimization ?? 'all',
        executionMode: 'sequential',
        enableMemPattern: o.memoryPattern ?? false,
        ...(o.device === 'webgpu' && o.deviceOutputs?.length
          ? { preferredOutputLocation: Object.fromEntries(o.deviceOutputs.map((n) => [n, 'gpu-buffer'])) }
          : {}),
      }),
    fillsFetches: false,
    // the WebGPU build keeps outputs in GPUBuffers on request, and every session of the module shares one GPUDevice
    deviceOutputs: true,
  };
}
