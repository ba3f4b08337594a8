// The finite-difference harness every gradient-rule test uses.
//
// fdCheck(args, f) builds f(x…) in float64 on graph inputs, forms the scalar L = Σ f(x) ⊙ r for a fixed
// random r, adds ∇L via gradients(), runs L and the gradients in onnxruntime (src/runtime/session.ts), and
// compares each gradient with central differences (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h of the same session.
//
// Error measure, per differentiated input: max |analytic − numeric| / max(‖analytic‖∞, ‖numeric‖∞), i.e. the
// largest element error relative to the gradient's scale; it must be ≤ tol (1e-6). With h = 1e-5 in float64
// the truncation (h²·f‴/6) and rounding (ε·|L|/h) errors are both ~1e-10, far below the tolerance.
//
// onnxruntime's CPU build has no float64 Erf kernel. Before the graph is serialised (after gradients() has
// used the Erf rule), lowerErf64 replaces each float64 Erf node by a float64 composite of standard ops that
// equals erf to ~1e-15 (see erfSeries); the backward never contains Erf (its rule uses Exp), so this changes
// only how the forward value is computed, not which rule is checked. Float64 Conv and ConvTranspose (no CPU
// kernels either) are lowered the same way by lower-conv64.ts.
import assert from 'node:assert/strict';
import { type Dim, Graph, type Node, type Value, inlineComposites } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { Tensor } from '../../src/graph/tensor.ts';
import { gradients } from '../../src/autodiff/grad.ts';
import { add, exp, mul, neg } from '../../src/ops/elementwise.ts';
import { reduceSum } from '../../src/ops/reduce.ts';
import { type Feeds, Session } from '../../src/runtime/session.ts';
import { lowerConv64 } from './lower-conv64.ts';

/** A seeded generator (mulberry32) with uniform and normal samples, so every test sees fixed data. */
export function rng(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Normal samples; `away` keeps |x| ≥ away (inputs away from a kink at 0). */
export function randn(shape: readonly number[], seed: number, away = 0): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: numel(shape) }, () => {
    const x = r.normal();
    return Math.abs(x) < away ? Math.sign(x || 1) * (away + Math.abs(x)) : x;
  });
}

/** erf in float64 from its everywhere-positive series, erf(x) = 2/√π·e^(−x²)·Σₙ 2ⁿx^(2n+1)/(2n+1)!!; ~1e-16 for |x| ≤ 4. */
export function erf64(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

const ERF_TERMS = 110;

/** The same series as graph ops (Horner form, ERF_TERMS terms): accurate to ~1e-15 for |x| ≤ 4. */
export function erfSeries(x: Value): Value {
  const x2 = mul(x, x);
  let inner: Value | number = 1;
  for (let n = ERF_TERMS; n >= 1; n--) {
    inner = add(typeof inner === 'number' ? mul(x2, (2 * inner) / (2 * n + 1)) : mul(mul(x2, 2 / (2 * n + 1)), inner), 1);
  }
  return mul(mul(exp(neg(x2)), mul(x, inner as Value)), 2 / Math.sqrt(Math.PI));
}

/**
 * Replaces every float64 Erf node with erfSeries, in place, keeping the output value (see the file comment). Composites
 * are inlined first, as toOnnx would (GELU's body holds an Erf).
 */
export function lowerErf64(g: Graph): number {
  g.nodes.splice(0, g.nodes.length, ...inlineComposites(g.nodes));
  let lowered = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    const node = g.nodes[i]!;
    if (node.opType !== 'Erf' || node.outputs[0]!.dtype !== 'float64') continue;
    const start = g.nodes.length;
    const y = erfSeries(node.inputs[0]!);
    const added = g.nodes.splice(start);
    const out: Node = { opType: 'Identity', domain: '', inputs: [y], outputs: node.outputs, attrs: {} };
    g.nodes.splice(i, 1, ...added, out);
    i += added.length;
    lowered++;
  }
  return lowered;
}

/** Serialises a graph and opens a single-threaded session (deterministic, and the test machine has 2 cores). */
export async function session(g: Graph): Promise<Session> {
  lowerErf64(g);
  lowerConv64(g);
  return Session.create(toOnnx(g), { threads: 1 });
}

const f64 = (shape: readonly number[], data: ArrayLike<number>): Tensor => ({ dtype: 'float64', shape: [...shape], data: Float64Array.from(data) });

export interface FdArg {
  /** Concrete shape of the data fed. */
  readonly shape: readonly number[];
  /** Values (default: standard normal from the seed). */
  readonly data?: ArrayLike<number>;
  /** float64 (default; differentiated) or int64 (indices, labels; never differentiated). */
  readonly dtype?: 'float64' | 'int64';
  /** Whether to check this input's gradient (default: true for float64). */
  readonly wrt?: boolean;
  /** The shape declared on the graph input, which may name symbolic dims (default: `shape`). */
  readonly graphShape?: readonly Dim[];
  readonly name?: string;
}

export interface FdOptions {
  /** Step of the central differences (default 1e-5). */
  readonly h?: number;
  /** Largest allowed relative error (default 1e-6). */
  readonly tol?: number;
  readonly seed?: number;
  /** Coordinates checked per input (a seeded random subset when the input is larger; default 60). */
  readonly maxCoords?: number;
}

export interface FdResult {
  /** Relative error per differentiated input, by input name. */
  readonly errors: Record<string, number>;
  readonly analytic: Record<string, Float64Array>;
}

/** Builds f on float64 inputs, differentiates Σ f ⊙ r, and checks every gradient against central differences. */
export async function fdCheck(args: readonly FdArg[], f: (...xs: Value[]) => Value, opts: FdOptions = {}): Promise<FdResult> {
  const { h = 1e-5, tol = 1e-6, seed = 1, maxCoords = 60 } = opts;
  const names = args.map((a, i) => a.name ?? `x${i}`);
  const feeds: Feeds = {};
  args.forEach((a, i) => {
    const data = a.data ?? randn(a.shape, seed * 1000 + i);
    feeds[names[i]!] = a.dtype === 'int64'
      ? { dtype: 'int64', shape: [...a.shape], data: BigInt64Array.from(Array.from(data), (v) => BigInt(v)) }
      : f64(a.shape, data);
  });
  const declare = (g: Graph): Value[] => args.map((a, i) => g.input(names[i]!, a.dtype ?? 'float64', a.graphShape ?? a.shape));

  // The output's concrete shape (for r): from the declared shape, or by running f once when it is symbolic.
  let outShape: number[];
  {
    const probe = new Graph('fd-probe');
    const y = f(...declare(probe));
    if (y.shape.every((d) => typeof d === 'number')) outShape = y.dims;
    else {
      probe.output(y, 'y');
      outShape = [...(await (await session(probe)).run(feeds)).y!.shape];
    }
  }

  const g = new Graph('fd');
  const xs = declare(g);
  const y = f(...xs);
  assert.equal(y.dtype, 'float64', `f must return float64, got ${y}`);
  const r = g.input('r', 'float64', y.shape);
  feeds.r = f64(outShape, randn(outShape, seed * 1000 + 999));
  const prod = mul(y, r);
  const loss = prod.rank === 0 ? prod : reduceSum(prod, 'all');
  g.output(loss, 'L');
  const wrtIdx = args.map((a, i) => ((a.wrt ?? a.dtype !== 'int64') ? i : -1)).filter((i) => i >= 0);
  const grads = gradients(loss, wrtIdx.map((i) => xs[i]!));
  grads.forEach((d) => g.output(d));
  const s = await session(g);

  const base = await s.run(feeds);
  const L = async (name: string, data: Float64Array): Promise<number> =>
    ((await s.run({ ...feeds, [name]: f64(feeds[name]!.shape, data) }, ['L'])).L!.data as Float64Array)[0]!;

  const errors: Record<string, number> = {};
  const analytic: Record<string, Float64Array> = {};
  const pick = rng(seed + 7);
  for (const [k, i] of wrtIdx.entries()) {
    const name = names[i]!;
    const x = feeds[name]!.data as Float64Array;
    const a = base[grads[k]!.name]!.data as Float64Array;
    analytic[name] = a;
    assert.deepEqual([...base[grads[k]!.name]!.shape], [...feeds[name]!.shape], `gradient of ${name} has the wrong shape`);
    let coords = Array.from(x.keys());
    while (coords.length > maxCoords) coords.splice(Math.floor(pick.uniform() * coords.length), 1);
    let maxErr = 0;
    let scale = Math.max(...Array.from(a, Math.abs));
    for (const c of coords) {
      const xp = Float64Array.from(x);
      xp[c] = x[c]! + h;
      const lp = await L(name, xp);
      xp[c] = x[c]! - h;
      const lm = await L(name, xp);
      const num = (lp - lm) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(num - a[c]!));
      scale = Math.max(scale, Math.abs(num));
    }
    assert.ok(scale > 1e-8, `gradient of ${name} is identically zero: the check would be vacuous`);
    errors[name] = maxErr / scale;
    assert.ok(
      errors[name]! <= tol,
      `gradient of ${name}: relative error ${errors[name]!.toExponential(2)} > ${tol} (scale ${scale.toExponential(2)})`,
    );
  }
  await s.release();
  return { errors, analytic };
}
