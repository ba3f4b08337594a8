// vitkit's engine-neutral session settings (types only: the browser entry imports them too).

/**
 * Where a session's graph runs: the CPU (onnxruntime's own kernels, or WebAssembly in a page), or a GPU through
 * onnxruntime's WebGPU execution provider (Dawn on Vulkan/Metal/D3D12 in Node, the browser's WebGPU in a page).
 * One graph and one code path for both: the device is a session option, nothing else changes.
 */
export type Device = 'cpu' | 'webgpu';

export interface SessionOptions {
  /** Where the graph runs (default 'cpu'). */
  readonly device?: Device;
  /**
   * Outputs to leave in GPU memory (device 'webgpu' only; ignored on the CPU): they come back as device tensors
   * (location 'gpu-buffer') that any session of the same engine takes as inputs without a copy. A training session
   * keeps its weights and optimizer state there across steps (see runtime/device-state.ts).
   */
  readonly deviceOutputs?: readonly string[];
  /** Intra-op threads; defaults to the machine's core count (the engine's measured sweet spot). */
  readonly threads?: number;
  /** onnxruntime graph optimisation level; 'all' enables its fusions (LayerNorm, Gelu, MatMul+Add). */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Whether idle pool threads spin waiting for work (default true). Spinning shortens inference's many small ops
   * (S/16: 12.7 vs 11.3 images/s); a training step's large ops gain nothing from it, and on a 2-core machine spinning
   * threads steal the cores from anything else that runs (the batch worker, another process): the step slowed by a
   * third under load. So training sessions turn it off.
   */
  readonly spin?: boolean;
  /**
   * Whether onnxruntime plans all intermediate buffers as one block from the first run's pattern (default true). A
   * training step graph keeps hundreds of activations alive for its backward pass, and the planned block came out far
   * larger than the peak of live tensors: Ti/16 at batch 32 peaked at 2.86 GB with it and 1.61 GB without, and the
   * step took 6–12% less CPU time without (docs/performance.md). So training sessions turn it off.
   */
  readonly memoryPattern?: boolean;
}
