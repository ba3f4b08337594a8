// The engine checks bench:gpu prints after its cases, one JSON line each: what a run on a real GPU says about
// onnxruntime's WebGPU execution provider itself, apart from vitkit's graphs.
//   fused-attention-webgpu   the com.microsoft Attention kernel against the CPU's (docs/gpu.md)
//   webgpu-dispatch          what one node costs: a chain of tiny elementwise nodes, timed with its input and output
//                            in GPU memory (as TrainSession keeps its state) and with them on the host
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { tensor } from '../src/graph/tensor.ts';
import { fusedAttention } from '../src/model/fused-attention.ts';
import { buildCopyGraph, copyName } from '../src/model/step-graph.ts';
import { add, mul } from '../src/ops/elementwise.ts';
import { Rng } from '../src/rng.ts';
import { Session } from '../src/runtime/session.ts';

/**
 * onnxruntime's com.microsoft Attention kernel on WebGPU vs the CPU's, at Ti/16's attention shape: on SwiftShader it
 * is wrong from ~32 tokens on (docs/gpu.md), which is why the WebGPU cases run plain attention ops. Recorded here
 * so a run on a real GPU says whether the kernel or SwiftShader is at fault.
 */
async function fusedAttentionCheck(): Promise<Record<string, unknown>> {
  const [b, t, d, heads] = [2, 197, 192, 3];
  const rng = new Rng(1);
  const randn = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
  const weights = new Map([
    ['x.attn.qkv.weight', tensor('float32', [3 * d, d], randn(3 * d * d, 0.1))],
    ['x.attn.qkv.bias', tensor('float32', [3 * d], randn(3 * d, 0.1))],
  ]);
  const g = new Graph();
  g.output(fusedAttention(g, weights, heads)(g.input('x', 'float32', [b, t, d]), 'x', () => { throw new Error('unused'); }), 'y');
  const x = { dtype: 'float32' as const, shape: [b, t, d], data: randn(b * t * d, 1) };
  const [cpu, gpu] = await Promise.all((['cpu', 'webgpu'] as const).map(async (device) => {
    const s = await Session.create(toOnnx(g), { device });
    const y = (await s.run({ x })).y!.data as Float32Array;
    await s.release();
    return y;
  }));
  const worst = cpu!.reduce((m, v, i) => Math.max(m, Math.abs(v - gpu![i]!)), 0);
  const scale = cpu!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { check: 'fused-attention-webgpu', shape: [b, t, d], heads, max_abs_diff_vs_cpu: worst, scale };
}

/** A chain of `n` elementwise nodes (Mul, Add alternately) over a 4-element tensor: dispatches that do no work. */
function chain(n: number): Uint8Array {
  const g = new Graph('chain');
  const x = g.input('x', 'float32', [4]);
  let h = x;
  for (let i = 0; i < n; i++) h = i % 2 ? add(h, x) : mul(h, x);
  g.output(h, 'y');
  return toOnnx(g);
}

/**
 * µs per node of a `nodes`-long chain of tiny nodes on WebGPU, each per-node figure over `runs` runs after 3 warm-ups:
 * `submit`, input and output in GPU memory and no wait for the GPU (the host's cost of recording a dispatch:
 * onnxruntime's kernel, Dawn's validation and encoding); `synced`, the same runs then one read-back (the GPU's time
 * per dispatch too, where the host is quicker); `host_io`, input from and output to the host each run (every run waits
 * for the GPU). A step of N nodes costs at least N × `submit` whatever the GPU, so this says which graphs are dispatch-bound.
 */
async function dispatchCost(nodes = 1000, runs = 20): Promise<Record<string, unknown>> {
  const opts = { executionProviders: ['webgpu'], logSeverityLevel: 3 } as const;
  // the copy graphs TrainSession's device state uploads and downloads through (model/step-graph.ts)
  const copy = (name: string) => toOnnx(buildCopyGraph(new Map([[name, [4]]])));
  const upload = await ort.InferenceSession.create(copy('x'), { ...opts, preferredOutputLocation: 'gpu-buffer' });
  const download = await ort.InferenceSession.create(copy('y'), opts);
  const host = () => new ort.Tensor('float32', Float32Array.of(0.5, 1, 0.1, 0.3), [4]);
  const x = (await upload.run({ x: host() }))[copyName('x')]!;
  const resident = await ort.InferenceSession.create(chain(nodes), { ...opts, preferredOutputLocation: 'gpu-buffer' });
  const onHost = await ort.InferenceSession.create(chain(nodes), opts);
  const perNode = (ms: number) => (1000 * ms) / runs / nodes;
  try {
    for (let i = 0; i < 3; i++) (await resident.run({ x })).y!.dispose();
    let start = performance.now();
    let y: ort.Tensor | undefined;
    for (let i = 0; i < runs; i++) {
      y?.dispose();
      y = (await resident.run({ x })).y!;
    }
    const submit = perNode(performance.now() - start);
    await download.run({ y: y! });
    const synced = perNode(performance.now() - start);
    y!.dispose();
    for (let i = 0; i < 3; i++) await onHost.run({ x: host() });
    start = performance.now();
    for (let i = 0; i < runs; i++) await onHost.run({ x: host() });
    const hostIo = perNode(performance.now() - start);
    return { check: 'webgpu-dispatch', nodes, runs, us_per_node_submit: submit, us_per_node_synced: synced, us_per_node_host_io: hostIo };
  } finally {
    x.dispose();
    await Promise.all([upload, download, resident, onHost].map((s) => s.release()));
  }
}

/** Every check's line; a check that fails says so in its line and the others still run. */
export async function webGpuChecks(): Promise<Record<string, unknown>[]> {
  const failed = (check: string) => (e: unknown) => ({ check, error: String(e) });
  return [
    await fusedAttentionCheck().catch(failed('fused-attention-webgpu')),
    await dispatchCost().catch(failed('webgpu-dispatch')),
  ];
}
