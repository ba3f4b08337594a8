// Where one training step's time goes in vitkit, per op group, from onnxruntime's profiler; bench/profile_train.py
// prints the same groups for PyTorch + timm eager (torch.profiler), so the two columns of docs/performance.md line up.
// Run: node --import tsx bench/profile-train.ts [--case ti16 --steps 4 --threads N --torch --base DIR]
// --base DIR adds a column for another source tree's step graph (see bench/ab-train.ts), profiled interleaved with
// this one's. Prints a markdown table (ms per step per group) and one JSON line.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ortSessionOptions } from '../src/runtime/session.ts';
import { machine, python } from './machine.ts';
import { benchStep, stepFeeds, stepGraphModule, timmKwargs, trainCase } from './train-cases.ts';

const { values } = parseArgs({
  options: {
    case: { type: 'string' },
    steps: { type: 'string' },
    threads: { type: 'string' },
    torch: { type: 'boolean' },
    base: { type: 'string' },
  },
});
const threads = Number(values.threads ?? availableParallelism());
const steps = Number(values.steps ?? 4);
const name = values.case ?? 'ti16';
const { config: cfg, batch } = trainCase(name);
const tokens = (cfg.imgSize / cfg.patchSize) ** 2 + (cfg.classToken ? 1 : 0);

/** The groups both profiles are reported in. */
export const GROUPS = [
  'linear fwd',
  'linear dX',
  'linear dW',
  'bias/param grads',
  'attention matmuls',
  'softmax',
  'layernorm',
  'gelu',
  'element-wise',
  'copies/layout',
  'loss',
  'clip',
  'optimizer',
  'other',
] as const;
type Group = (typeof GROUPS)[number];

const LAYOUT = new Set([
  'Transpose',
  'Reshape',
  'Concat',
  'Split',
  'Slice',
  'Pad',
  'Identity',
  'Expand',
  'Squeeze',
  'Unsqueeze',
  'Gather',
  'Shape',
  'ConstantOfShape',
]);
const MATMUL = new Set(['MatMul', 'Gemm', 'FusedMatMul', 'FusedGemm']);

interface OrtEvent {
  readonly cat: string;
  readonly name: string;
  readonly dur: number;
  readonly ts: number;
  readonly args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const shapesOf = (l: Record<string, number[]>[] | undefined): number[][] => (l ?? []).map((o) => Object.values(o)[0]!);

/** The group of one kernel, from its node's scope (set by the graph builders: grad.<Op>, loss, clip, optimizer), op and shapes. */
function classify(e: OrtEvent): Group {
  const node = e.name.replace(/_kernel_time$/, '');
  // Node names are `[scope/]Op_i`, and onnxruntime appends `/<Fusion>/` to the nodes it fuses.
  const first = node.split('/')[0]!;
  const scope = /^[A-Za-z]+_\d+$/.test(first) ? '' : first;
  const op = e.args?.op_name ?? '';
  const outs = shapesOf(e.args?.output_type_shape);
  const ins = shapesOf(e.args?.input_type_shape);
  const rank4 = [...ins, ...outs].some((s) => s.length === 4 && s[0] === batch && s[2] !== cfg.imgSize);
  if (scope === 'loss' || scope === 'clip' || scope === 'optimizer') return scope;
  if (MATMUL.has(op)) {
    if (rank4) return 'attention matmuls';
    if (!scope) return 'linear fwd';
    // A dX has the activations' rows (B, or B·T) first; a dW has a parameter's shape.
    const out = outs[0] ?? [];
    return out.length >= 3 || out[0] === batch || out[0] === batch * tokens ? 'linear dX' : 'linear dW';
  }
  if (LAYOUT.has(op)) return 'copies/layout';
  const fwdOrRule = scope.startsWith('grad.') ? scope.slice(5) : op;
  // The attention composite's non-matmul backward is the softmax backward.
  if (fwdOrRule === 'Softmax' || fwdOrRule === 'Attention' || op === 'Softmax') return 'softmax';
  if (fwdOrRule === 'LayerNormalization' || op === 'LayerNormalization' || op === 'SkipLayerNormalization') return 'layernorm';
  if (['Gelu', 'BiasGelu', 'FastGelu', 'Erf'].includes(fwdOrRule) || ['Gelu', 'BiasGelu', 'FastGelu', 'Erf'].includes(op)) return 'gelu';
  if (op.startsWith('Reduce') && outs[0] && outs[0].length <= 2 && scope.startsWith('grad.')) return 'bias/param grads';
  if (!scope || scope.startsWith('grad.')) return 'element-wise';
  return 'other';
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Profile {
  readonly groups: Record<Group, number>;
  readonly total: number;
  readonly byOp: Record<string, number>;
}

/** A profiling session on the step graph built by the source tree at `root`; `finish` ends it and sums its kernels. */
async function profiled(root: string, tag: string): Promise<{ run: () => Promise<unknown>; finish: () => Promise<Profile> }> {
  const { buildStepGraph } = await import(stepGraphModule(root));
  const { toOnnx } = await import(resolve(root, 'src/graph/onnx.ts'));
  const spec = buildStepGraph(cfg, { batch, ...benchStep });
  const prefix = join(tmpdir(), `vitkit-profile-${process.pid}-${tag}`);
  const session = await ort.InferenceSession.create(toOnnx(spec.graph), {
    ...ortSessionOptions({ threads, spin: false }),
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const feeds = stepFeeds(spec, cfg, batch);
  const finish = async (): Promise<Profile> => {
    session.endProfiling();
    await session.release();
    // onnxruntime names the file `<prefix>_<date>.json`.
    const file = readdirSync(tmpdir()).find((f) => f.startsWith(`${basename(prefix)}_`) && f.endsWith('.json'));
    if (!file) throw new Error(`no onnxruntime profile ${prefix}_*.json`);
    const events = JSON.parse(readFileSync(join(tmpdir(), file), 'utf8')) as OrtEvent[];
    if (!process.env.VITKIT_KEEP_PROFILE) rmSync(join(tmpdir(), file));
    return summarise(events);
  };
  return { run: () => session.run(feeds), finish };
}

/**
 * Per-group sums. Steady state: the first 2 runs are skipped. Each kernel's time is its median over the profiled runs,
 * which keeps another process's burst on a shared machine from landing on whichever kernel it happened to overlap.
 */
function summarise(events: readonly OrtEvent[]): Profile {
  const runs = events.filter((e) => e.name === 'model_run').sort((a, b) => a.ts - b.ts).slice(2);
  const perNode = new Map<string, { event: OrtEvent; durs: number[] }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < runs[0]!.ts) continue;
    const k = perNode.get(e.name) ?? { event: e, durs: [] };
    k.durs.push(e.dur / 1000);
    perNode.set(e.name, k);
  }
  const groups = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
  const byOp: Record<string, number> = {};
  for (const { event, durs } of perNode.values()) {
    const ms = median(durs);
    groups[classify(event)] += ms;
    const op = event.args?.op_name ?? '?';
    byOp[op] = (byOp[op] ?? 0) + ms;
  }
  return { groups, total: median(runs.map((r) => r.dur / 1000)), byOp };
}

function profileTorch(): Omit<Profile, 'byOp'> | { error: string } {
  const kw = timmKwargs(cfg);
  const script = new URL('./profile_train.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, JSON.stringify(kw), String(batch), String(threads), String(steps)], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) return { error: (r.stderr || String(r.error)).trim().split('\n').pop() ?? 'failed' };
  return JSON.parse(line) as Omit<Profile, 'byOp'>;
}

// This tree's step and, with --base, another tree's, run alternately so both see the same machine load.
const trees: [string, string][] = [
  ['vitkit', resolve(import.meta.dirname, '..')],
  ...(values.base ? [['base', resolve(values.base)] as [string, string]] : []),
];
const sessions = await Promise.all(trees.map(([tag, root]) => profiled(root, tag)));
for (let i = 0; i < steps + 2; i++) for (const s of sessions) await s.run();
const columns: [string, Omit<Profile, 'byOp'> & Partial<Profile>][] = [];
for (const [i, s] of sessions.entries()) columns.push([trees[i]![0], await s.finish()]);
if (values.torch) {
  const ref = profileTorch();
  if ('groups' in ref) columns.push(['PyTorch', ref]);
  else console.error(`PyTorch profile failed: ${ref.error}`);
}
const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
const sum = (p: Omit<Profile, 'byOp'>) => Object.values(p.groups).reduce((a, b) => a + b, 0);
const rows = [`| group | ${columns.map(([t]) => `${t} ms`).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
for (const g of GROUPS) rows.push(`| ${g} | ${columns.map(([, p]) => fmt(p.groups[g])).join(' | ')} |`);
rows.push(`| **sum of kernels** | ${columns.map(([, p]) => fmt(sum(p))).join(' | ')} |`);
rows.push(`| **step (wall, median)** | ${columns.map(([, p]) => fmt(p.total)).join(' | ')} |`);
console.log(rows.join('\n'));
for (const [t, p] of columns) {
  if (p.byOp) {
    console.log(
      `${t} top ops (ms/step): ${Object.entries(p.byOp)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}`,
    );
  }
}
console.log(JSON.stringify({ case: name, batch, threads, steps, machine: machine(), profiles: Object.fromEntries(columns) }));
