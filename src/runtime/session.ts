// onnxruntime-node sessions over vitkit graphs and host tensors.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { DType, Tensor, TensorData } from '../graph/tensor.ts';

export interface SessionOptions {
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

export type Feeds = Record<string, Tensor>;

const fromOrt: Record<string, DType> = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', int8: 'int8', uint8: 'uint8', bool: 'bool' };

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
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimization ?? 'all',
    executionMode: 'sequential',
    enableMemPattern: opts.memoryPattern ?? true,
    extra: { session: { intra_op: { allow_spinning: (opts.spin ?? true) ? '1' : '0' } } },
  };
}

/** A loaded model: run it with host tensors by input name, get host tensors by output name. */
export class Session {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array | string, opts: SessionOptions = {}): Promise<Session> {
    const session = await ort.InferenceSession.create(model as Uint8Array, ortSessionOptions(opts));
    return new Session(session);
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
