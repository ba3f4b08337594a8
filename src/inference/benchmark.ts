// Steady-state inference throughput of a model, a checkpoint's or an architecture's on random weights (warm-up,
// then timed runs).
import { toOnnx } from '../graph/onnx.ts';
import { type StateDict, type Tensor, zeros } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { initParameters } from '../model/init.ts';
import { type Precision, dequantizeWeights, quantizeWeights } from '../model/int8.ts';
import { forwardFlops } from '../model/params.ts';
import { inferenceGraph } from '../model/inference-graph.ts';
import { type Device, Session } from '../runtime/session.ts';
import { attentionKernelFor } from '../model/fused-attention.ts';

export interface BenchmarkOptions {
  readonly batch: number;
  readonly threads?: number;
  /** Untimed runs first, so onnxruntime's allocations and prepacking are done. */
  readonly warmup?: number;
  /** Keep timing until both this many runs and this many seconds have passed. */
  readonly minRuns?: number;
  readonly minSeconds?: number;
  /** int8 linear layers (weights quantized per output channel), float16 compute, or float32 throughout. */
  readonly precision?: Precision;
  /** The weights to time (a loaded checkpoint's, canonical, float32 or int8); default a seeded random init. */
  readonly weights?: StateDict;
  /** Where it runs (default 'cpu'; resolve 'auto' with resolveDevice first). */
  readonly device?: Device;
}

export interface BenchmarkResult {
  readonly batch: number;
  readonly images_per_sec: number;
  readonly ms_per_batch: number;
  readonly gflops_per_sec: number;
  readonly runs: number;
}

/** What benchmarkInference times: the model as ONNX (logits, or pooled features without a head) and its input batch. */
export function benchmarkModel(cfg: ViTConfig, opts: BenchmarkOptions): { onnx: Uint8Array; images: Tensor<'float32'> } {
  const init = opts.weights ?? initParameters(cfg, { seed: 0 });
  const weights = opts.precision === 'int8' ? quantizeWeights(cfg, init) : opts.precision === 'fp16' ? dequantizeWeights(cfg, init) : init;
  const outputs = [cfg.numClasses > 0 ? 'logits' : 'pooled'] as const;
  const kernel = attentionKernelFor(opts.device ?? 'cpu');
  const graph = inferenceGraph(cfg, weights, outputs, { batch: opts.batch, kernel, float16: opts.precision === 'fp16' });
  const images = zeros([opts.batch, cfg.inChans, cfg.imgSize, cfg.imgSize]) as Tensor<'float32'>;
  images.data.forEach((_, i, a) => (a[i] = Math.sin(i)));
  return { onnx: toOnnx(graph), images };
}

/** Times the logits (pooled features without a head) of `cfg` at `opts.batch`, with a fixed batch in the graph. */
export async function benchmarkInference(cfg: ViTConfig, opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const { onnx, images } = benchmarkModel(cfg, opts);
  const session = await Session.create(onnx, { threads: opts.threads, device: opts.device ?? 'cpu' });
  for (let i = 0; i < (opts.warmup ?? 2); i++) await session.run({ images });
  const minRuns = opts.minRuns ?? 5;
  const minMs = (opts.minSeconds ?? 5) * 1000;
  const start = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - start < minMs) {
    await session.run({ images });
    runs++;
  }
  const ms = (performance.now() - start) / runs;
  await session.release();
  const perSec = (opts.batch * 1000) / ms;
  return { batch: opts.batch, images_per_sec: perSec, ms_per_batch: ms, gflops_per_sec: (perSec * forwardFlops(cfg)) / 1e9, runs };
}
