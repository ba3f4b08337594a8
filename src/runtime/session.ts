// onnxruntime-node sessions over vitkit graphs and host tensors.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { DType, Tensor, TensorData } from '../graph/tensor.ts';
import { noAdapter, probeWebGpu } from './devices.ts';
import type { SessionOptions } from './session-options.ts';

export type { Device, SessionOptions } from './session-options.ts';

export type Feeds = Record<string, Tensor>;

const fromOrt: Record<string, DType> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, [...t.shape]);
}

export function fromOrtTensor(t: ort.Tensor): Tensor {
  const dtype = fromOrt[t.type];
  if (!dtype) throw new Error(`unsupported onnxruntime output type ${t.type}`);
  return { dtype, shape: [...t.dims], data: t.data as TensorData };
}

/** onnxruntime session options for vitkit's graphs. */
export function ortSessionOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [opts.device ?? 'cpu'],
    // On WebGPU onnxruntime warns on every session that some nodes run on the CPU: the shape ops it keeps there on
    // purpose (an int64 Shape → Concat feeding Expand). Errors still print.
    ...(opts.device === 'webgpu' ? { logSeverityLevel: 3 as const } : {}),
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimization ?? 'all',
    executionMode: 'sequential',
    enableMemPattern: opts.memoryPattern ?? true,
    extra: { session: { intra_op: { allow_spinning: (opts.spin ?? true) ? '1' : '0' } } },
    ...(opts.device === 'webgpu' && opts.deviceOutputs?.length
      ? { preferredOutputLocation: Object.fromEntries(opts.deviceOutputs.map((n) => [n, 'gpu-buffer' as const])) }
      : {}),
  };
}

/** A loaded model: run it with host tensors by input name, get host tensors by output name. */
export class Session {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array | string, opts: SessionOptions = {}): Promise<Session> {
    try {
      return new Session(await ort.InferenceSession.create(model as Uint8Array, ortSessionOptions(opts)));
    } catch (e) {
      // a caller that did not resolveDevice first gets the probe's reason and fix, not Dawn's assertion text
      const probe = opts.device === 'webgpu' && /WebGPU adapter/.test(String(e)) ? await probeWebGpu() : undefined;
      throw probe && !probe.available ? noAdapter(probe) : e;
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; `outputs` limits which outputs are computed (all by default). */
  async run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
    const res = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(res)) out[k] = fromOrtTensor(v);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
