// Reverse-mode automatic differentiation over a built graph: walks the nodes from the loss back to the
// requested values, calling each op's VJP rule (src/ops/registry.ts), and appends the backward pass to the
// same graph as standard ONNX ops. The caller decides which gradients become graph outputs.
import type { Node, Value } from '../graph/graph.ts';
import { formatShape } from '../graph/tensor.ts';
// Every op file registers its rules on import: importing them all here makes the registry complete.
import { add } from '../ops/elementwise.ts';
import '../ops/attention.ts';
import '../ops/conv.ts';
import '../ops/matmul.ts';
import '../ops/nn.ts';
import '../ops/pool.ts';
import '../ops/reduce.ts';
import '../ops/scatter.ts';
import { identity, onesLike, zerosLike } from '../ops/shape.ts';
import { gradRule } from '../ops/registry.ts';

const isFloat = (v: Value): boolean => v.dtype === 'float32' || v.dtype === 'float64';

/**
 * Reverse-mode gradients of a scalar `loss` with respect to `wrt`, added to loss.graph as standard ONNX ops.
 *
 * Returns one gradient per `wrt`, with its shape and dtype, named `grad.<name>` (e.g.
 * `grad.blocks.0.attn.qkv.weight`). A `wrt` the loss does not depend on gets zeros (a ConstantOfShape
 * node), not an error, so a parameter that is unused in some configuration still gets a well-defined update.
 * `seed` is the gradient of the final output with respect to `loss` (default: 1); it must have the loss's
 * shape, which lets a non-scalar `loss` be differentiated as the scalar sum(loss ⊙ seed).
 * Backward nodes that no returned gradient needs are removed again before returning.
 */
export function gradients(loss: Value, wrt: readonly Value[], seed?: Value): Value[] {
  const g = loss.graph;
  if (!isFloat(loss)) throw new Error(`gradients: loss ${loss} is not a float value`);
  for (const w of wrt) {
    if (w.graph !== g) throw new Error(`gradients: '${w.name}' belongs to another graph than the loss`);
    if (!isFloat(w)) throw new Error(`gradients: cannot differentiate with respect to non-float value ${w}`);
  }
  if (seed) {
    if (seed.dtype !== loss.dtype || !sameShape(seed.shape, loss.shape)) {
      throw new Error(`gradients: seed ${seed} does not match loss ${loss}`);
    }
  } else if (loss.shape.some((d) => d !== 1)) {
    throw new Error(`gradients: loss ${loss} is not a scalar (pass a seed to differentiate a tensor)`);
  }

  const forward = g.nodes.length;
  const producer = new Map<Value, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));

  // Values that depend on some wrt (forward reachability): gradients are only propagated into these.
  const depends = new Set<Value>(wrt);
  for (const n of g.nodes) {
    if (n.inputs.some((x) => x && depends.has(x))) for (const o of n.outputs) if (isFloat(o)) depends.add(o);
  }

  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, dv: Value): void => {
    const prev = grads.get(v);
    grads.set(v, prev ? g.inScope('grad.accumulate', () => add(prev, dv)) : dv);
  };
  if (depends.has(loss)) accumulate(loss, seed ?? onesLike(loss));

  const last = producer.get(loss);
  for (let i = last ?? -1; i >= 0; i--) {
    const node = g.nodes[i]!;
    const outGrads = node.outputs.map((o) => grads.get(o) ?? null);
    if (outGrads.every((d) => d === null)) continue;
    if (!node.inputs.some((x) => x && depends.has(x))) continue;
    const needs = node.inputs.map((x) => !!x && depends.has(x));
    const inGrads = g.inScope(`grad.${node.opType}`, () => gradRule(node).vjp(node, outGrads, needs));
    checkRuleResult(node, inGrads);
    node.inputs.forEach((x, j) => {
      const dx = inGrads[j];
      if (x && dx && depends.has(x)) accumulate(x, dx);
    });
  }

  const result = wrt.map((w) => identity(grads.get(w) ?? zerosLike(w), g.uniqueName(`grad.${w.name}`)));
  pruneDeadNodes(g.nodes, forward, result);
  return result;
}

function sameShape(a: readonly (number | string)[], b: readonly (number | string)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkRuleResult(node: Node, inGrads: readonly (Value | null)[]): void {
  const what = `gradient rule for ${node.opType} (node '${node.outputs[0]?.name}')`;
  if (!Array.isArray(inGrads) || inGrads.length !== node.inputs.length) {
    throw new Error(`${what} returned ${inGrads?.length} gradients for ${node.inputs.length} inputs`);
  }
  node.inputs.forEach((x, j) => {
    const dx = inGrads[j];
    if (!dx) return;
    if (!x) throw new Error(`${what} returned a gradient for omitted input ${j}`);
    if (dx.dtype !== x.dtype || !sameShape(dx.shape, x.shape)) {
      throw new Error(`${what}: gradient of input ${j} is ${dx.dtype}${formatShape(dx.shape)}, expected ${x}`);
    }
  });
}

/** Removes nodes at index ≥ `from` whose outputs no `keep` value needs (rules emit every input's gradient). */
function pruneDeadNodes(nodes: Node[], from: number, keep: readonly Value[]): void {
  const live = new Set<Value>(keep);
  const alive: boolean[] = [];
  for (let i = nodes.length - 1; i >= from; i--) {
    const n = nodes[i]!;
    alive[i] = n.outputs.some((o) => live.has(o));
    if (alive[i]) for (const x of n.inputs) if (x) live.add(x);
  }
  let w = from;
  for (let i = from; i < nodes.length; i++) if (alive[i]) nodes[w++] = nodes[i]!;
  nodes.length = w;
}
