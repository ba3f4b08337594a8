// Where the page's training step loses to Node, kernel by kernel. The step graph (the `npm start` model, AdamW,
// clipping) is timed and profiled per op type on onnxruntime-web's WebAssembly and on onnxruntime-node, one thread each, and the
// matrix products are timed alone at the step's shapes. The WebAssembly runs inside Node: it is the same module the
// page runs, and there its profiler can be read (onnxruntime-web prints the profile to stdout, so a child process
// runs that half, into a file this one parses). One JSON line per case, with the CPU.
// Run: npm run bench:web-kernels [-- --batch 16 --freeze none|backbone]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Graph } from '../src/graph/graph.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { checkConfig, defaultConfig, gridSize } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { buildStepGraph } from '../src/model/step-graph.ts';
import { Rng } from '../src/rng.ts';
import { type Freeze, fashionMnistRecipe, trainableRule } from '../src/train/recipe.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({ options: { batch: { type: 'string' }, freeze: { type: 'string' }, 'web-child': { type: 'string' } } });
const batch = Number(values.batch ?? 16);
const freeze = (values.freeze ?? 'none') as Freeze;
if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`--batch must be a positive integer, got '${values.batch}'`);
if (freeze !== 'none' && freeze !== 'backbone') throw new Error(`--freeze must be none or backbone, got '${values.freeze}'`);
const cfg = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
const WARMUP = 2;
const RUNS = 6;

type Feeds = Record<string, { type: 'float32' | 'int64'; data: Float32Array | BigInt64Array; dims: number[] }>;

/** The step graph with its inputs: initial weights, zero optimizer state, a random batch, every scalar 0.5. */
function stepCase(): { model: Uint8Array; feeds: Feeds } {
  const spec = buildStepGraph(cfg, { batch, optimizer: { kind: 'adamw', weightDecay: 0.05 }, clipNorm: 1, trainable: trainableRule(freeze) });
  const params = initParameters(cfg, { seed: 0 });
  const rng = new Rng(1);
  const feeds: Feeds = {};
  for (const v of spec.graph.inputs) {
    const dims = v.dims;
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.dtype === 'int64') feeds[v.name] = { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % cfg.numClasses)), dims };
    else if (params.has(v.name)) feeds[v.name] = { type: 'float32', data: params.get(v.name)!.data as Float32Array, dims };
    else if (v.name === 'images') feeds[v.name] = { type: 'float32', data: Float32Array.from({ length: n }, () => rng.normal()), dims };
    else feeds[v.name] = { type: 'float32', data: new Float32Array(n).fill(dims.length === 0 ? 0.5 : 0), dims };
  }
  return { model: toOnnx(spec.graph), feeds };
}

/** One MatMul [m, k] × [k, n]. */
function matmulCase(m: number, k: number, n: number): { model: Uint8Array; feeds: Feeds } {
  const g = new Graph();
  const a = g.input('a', 'float32', [m, k]);
  const b = g.input('b', 'float32', [k, n]);
  g.output(g.node('MatMul', [a, b], [{ dtype: 'float32', shape: [m, n], name: 'y' }])[0]!);
  const fill = (len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i));
  return {
    model: toOnnx(g),
    feeds: { a: { type: 'float32', data: fill(m * k), dims: [m, k] }, b: { type: 'float32', data: fill(k * n), dims: [k, n] } },
  };
}

interface Ort {
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: number[]) => unknown;
  InferenceSession: {
    create(
      model: Uint8Array,
      options: object,
    ): Promise<{ run(feeds: Record<string, unknown>): Promise<unknown>; endProfiling(): unknown; release(): Promise<void> }>;
  };
}

const OPTIONS = { graphOptimizationLevel: 'all', executionMode: 'sequential', enableMemPattern: false };

/**
 * Milliseconds per run() after warm-up: the median, and the best (for single kernels: on these virtual machines
 * single-threaded onnxruntime-node runs of one kernel vary up to 10×, probably an idle vCPU waking between runs).
 */
async function time(
  ort: Ort,
  c: { model: Uint8Array; feeds: Feeds },
  options: object,
  runs = RUNS,
): Promise<{ ms: number; best: number; session: { endProfiling(): unknown; release(): Promise<void> } }> {
  const session = await ort.InferenceSession.create(c.model, { ...OPTIONS, ...options });
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]));
  for (let i = 0; i < WARMUP; i++) await session.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[runs >> 1]!, best: ms[0]!, session };
}

interface Event { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } }

/** Kernel milliseconds per run by op type, from a chrome-trace profile of WARMUP + RUNS runs (the warm-up left out). */
function byOpType(events: Event[]): Record<string, number> {
  const runs = events.filter((e) => e.name === 'SequentialExecutor::Execute').sort((a, b) => a.ts - b.ts);
  const from = runs[runs.length - RUNS]!.ts;
  const out: Record<string, number> = {};
  for (const e of events) {
    if (e.cat !== 'Node' || e.ts < from || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    out[op] = (out[op] ?? 0) + e.dur / 1000 / RUNS;
  }
  return out;
}

const webModule = async (): Promise<Ort> => {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  return ort as unknown as Ort;
};

if (values['web-child']) {
  // The child: onnxruntime-web writes its profile to stdout when the session's profiling ends.
  const ort = await webModule();
  const step = values['web-child'] === 'step';
  const c = step ? stepCase() : matmulCase(...(values['web-child'].split('x').map(Number) as [number, number, number]));
  const t = await time(ort, c, { executionProviders: ['wasm'] }, step ? RUNS : 20);
  await t.session.release();
  const ms = step ? t.ms : t.best;
  if (step) (await time(ort, c, { executionProviders: ['wasm'], enableProfiling: true })).session.endProfiling();
  console.log(`\n${JSON.stringify({ ms })}`);
} else {
  await main();
}

/**
 * Runs one case on onnxruntime-web in a child process; the profile (if any) and the time come back on its stdout,
 * a file rather than a pipe (the WebAssembly's blocking writes fail with EAGAIN on a full pipe).
 */
function onWeb(which: string): { ms: number; events: Event[] } {
  const file = join(tmpdir(), `vitkit-web-kernels-${process.pid}-web.out`);
  const fd = openSync(file, 'w');
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--web-child', which, '--batch', `${batch}`, '--freeze', freeze],
      { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`onnxruntime-web child failed: ${r.stderr}`);
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(file, 'utf8');
  rmSync(file);
  const { ms } = JSON.parse(out.trimEnd().split('\n').pop()!) as { ms: number };
  const start = out.lastIndexOf('[\n{"cat"');
  const events = start < 0 ? [] : (JSON.parse(out.slice(start, out.lastIndexOf(']') + 1)) as Event[]);
  return { ms, events };
}

async function main(): Promise<void> {
  const nodeOrt = (await import('onnxruntime-node')) as unknown as Ort;
  const nodeOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const round = (x: number) => Math.round(x * 100) / 100;

  // The step, profiled on both engines.
  const prefix = join(tmpdir(), `vitkit-web-kernels-${process.pid}`);
  const node = await time(nodeOrt, stepCase(), nodeOptions); // timed without the profiler, which adds a little per node
  await node.session.release();
  (await time(nodeOrt, stepCase(), { ...nodeOptions, enableProfiling: true, profileFilePrefix: prefix })).session.endProfiling();
  const file = readdirSync(tmpdir()).map((f) => join(tmpdir(), f)).find((f) => f.startsWith(prefix))!;
  const nodeOps = byOpType(JSON.parse(readFileSync(file, 'utf8')) as Event[]);
  rmSync(file);
  const web = onWeb('step');
  const webOps = byOpType(web.events);
  const MATMULS = ['MatMul', 'FusedMatMul', 'Gemm'];
  const sum = (ops: Record<string, number>, keep: (op: string) => boolean) => Object.entries(ops).reduce((s, [op, ms]) => s + (keep(op) ? ms : 0), 0);
  const isMatmul = (op: string) => MATMULS.includes(op);
  const ops = [...new Set([...Object.keys(nodeOps), ...Object.keys(webOps)])]
    .map((op) => ({
      op,
      node_ms: round(nodeOps[op] ?? 0),
      web_ms: round(webOps[op] ?? 0),
      web_over_node: round((webOps[op] ?? 0) / (nodeOps[op] ?? NaN)),
    }))
    .sort((a, b) => b.web_ms - a.web_ms);
  const kernels = { node: sum(nodeOps, () => true), web: sum(webOps, () => true) };
  const matmul = { node: sum(nodeOps, isMatmul), web: sum(webOps, isMatmul) };
  console.log(JSON.stringify({
    case: 'step-profile', batch, trains: freeze === 'none' ? 'all' : 'head', threads: 1, machine: machine(),
    node_run_ms: round(node.ms), web_run_ms: round(web.ms), web_speed_over_node: round(node.ms / web.ms),
    kernel_ms: { node: round(kernels.node), web: round(kernels.web) },
    matmul_ms: { node: round(matmul.node), web: round(matmul.web) },
    // The page's best case if WebAssembly ran every other kernel as fast as native code: the matrix products bound it.
    web_speed_over_node_if_only_matmuls_were_slower: round(kernels.node / (matmul.web + kernels.node - matmul.node)),
    ops,
  }));

  // The matrix products alone at the step's shapes (rows: batch × tokens; qkv, MLP in and out, a weight gradient),
  // best of 20 runs.
  const rows = batch * (gridSize(cfg) ** 2 + 1); // patches and the class token
  const [d, h] = [cfg.embedDim, cfg.mlpDim];
  for (const [m, k, n] of [[rows, d, 3 * d], [rows, d, h], [rows, h, d], [d, rows, 3 * d]] as const) {
    const mm = await time(nodeOrt, matmulCase(m, k, n), nodeOptions, 20);
    await mm.session.release();
    const nodeMs = mm.best;
    const webMs = onWeb(`${m}x${k}x${n}`).ms;
    const gflops = (ms: number) => round((2 * m * k * n) / ms / 1e6);
    console.log(JSON.stringify({
      case: 'matmul',
      shape: `${m}x${k}x${n}`,
      threads: 1,
      machine: machine(),
      node_gflops: gflops(nodeMs),
      web_gflops: gflops(webMs),
      web_speed_over_node: round(nodeMs / webMs),
    }));
  }
}
