// A/B timing of the training step built by two source trees (e.g. this branch against a `git archive` of its base),
// interleaved in one process so both see the same machine load: A, B, B, A, … Prints one JSON line with the median
// wall and CPU time (user + system) of each step and the medians of the per-round ratios B/A. On a shared machine
// trust the CPU-time ratio: time the process spends descheduled does not count in it, but the work of the graph does.
// Run: node --import tsx bench/ab-train.ts --base /tmp/base [--tree DIR (default: this checkout) --case ti16 --rounds 10 --threads N]
// (/tmp/base: `git archive <commit> src | tar -x -C /tmp/base` and a node_modules link to this checkout's.)
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { machine } from './machine.ts';
import { benchStep, stepFeeds, stepGraphModule, trainCase } from './train-cases.ts';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    tree: { type: 'string' },
    case: { type: 'string' },
    rounds: { type: 'string' },
    threads: { type: 'string' },
  },
});
if (!values.base) throw new Error('--base DIR (a source tree with src/) is required');
const threads = Number(values.threads ?? availableParallelism());
const rounds = Number(values.rounds ?? 10);
const name = values.case ?? 'ti16';
const { config: cfg, batch } = trainCase(name);

/** A session for the step graph of the tree at `root`, and a function running one step. */
async function variant(root: string): Promise<() => Promise<void>> {
  const { buildStepGraph } = await import(stepGraphModule(root));
  const { toOnnx } = await import(resolve(root, 'src/graph/onnx.ts'));
  const { ortSessionOptions } = await import(resolve(root, 'src/runtime/session.ts'));
  const spec = buildStepGraph(cfg, { batch, ...benchStep });
  const s = await ort.InferenceSession.create(toOnnx(spec.graph), ortSessionOptions({ threads, spin: false }));
  const feeds = stepFeeds(spec, cfg, batch);
  return async () => {
    await s.run(feeds);
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const a = await variant(values.base);
const b = await variant(values.tree ?? resolve(import.meta.dirname, '..'));
for (const run of [a, b, a, b]) await run();
const wall: [number[], number[]] = [[], []];
const cpu: [number[], number[]] = [[], []];
for (let i = 0; i < rounds; i++) {
  // Alternate which goes first, so neither always follows the other's cache state.
  for (const k of i % 2 ? [1, 0] : [0, 1]) {
    const c = process.cpuUsage();
    const t = performance.now();
    await [a, b][k]!();
    wall[k]!.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu[k]!.push((d.user + d.system) / 1000);
  }
}
const ratio = ([x, y]: [number[], number[]]) => median(x.map((v, i) => y[i]! / v));
console.log(JSON.stringify({
  case: name, batch, threads, rounds, machine: machine(),
  wall_ms: { a: median(wall[0]), b: median(wall[1]), b_over_a: ratio(wall) },
  cpu_ms: { a: median(cpu[0]), b: median(cpu[1]), b_over_a: ratio(cpu) },
}));
