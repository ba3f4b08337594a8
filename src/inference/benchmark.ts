// Steady-state inference throughput of a model, a checkpoint's or an architecture's on random weights (warm-up,
// then timed runs).
import { toOnnx } from '../graph/onnx.ts';
import { type StateDict, zeros } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { initParameters } from '../model/init.ts';
import { type Precision, dequantizeWeights, quantizeWeights } from '../model/int8.ts';
import { forwardFlops } from '../model/params.ts';
import { inferenceGraph } from '../model/vit.ts';
import { type Device, Session } from '../runtime/session.ts';
import { attentionKernelFor } from './classifier.ts';

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

/** Times the logits (pooled features without a head) of `cfg` at `opts.batch`, with a fixed batch in the graph. */
export async function benchmarkInference(cfg: ViTConfig, opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const init = opts.weights ?? initParameters(cfg, { seed: 0 });
  const weights = opts.precision === 'int8' ? quantizeWeights(cfg, init) : opts.precision === 'fp16' ? dequantizeWeights(cfg, init) : init;
  const device = opts.device ?? 'cpu';
  const outputs = [cfg.numClasses > 0 ? 'logits' : 'pooled'] as const;
  const graph = inferenceGraph(cfg, weights, outputs, { batch: opts.batch, kernel: attentionKernelFor(device), float16: opts.precision === 'fp16' });
  const session = await Session.create(toOnnx(graph), { threads: opts.threads, device });
  const images = zeros([opts.batch, cfg.inChans, cfg.imgSize, cfg.imgSize]);
  (images.data as Float32Array).forEach((_, i, a) => (a[i] = Math.sin(i)));
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
