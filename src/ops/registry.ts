// The one registry of gradient (VJP) rules. Each op file registers the rules for its ops on import,
// beside their forward builders; src/autodiff/grad.ts imports every op file so the registry is complete.
import type { Node, Value } from '../graph/graph.ts';

/** The vector-Jacobian product of one op type, expressed as standard ONNX ops added to the node's graph. */
export interface GradRule {
  readonly opType: string;
  /** '' (the default ONNX domain) when omitted. */
  readonly domain?: string;
  /**
   * Given the gradients flowing into the node's outputs (null for an output the loss does not depend on),
   * returns one gradient per input, with that input's shape and dtype, or null for a non-differentiable
   * input (shapes, indices, labels, conditions) or an omitted optional input.
   * `needs[i]` (optional, like PyTorch's ctx.needs_input_grad) says whether input i's gradient will be used;
   * a rule may return null for an input that is not needed instead of building nodes nobody reads.
   */
  vjp(node: Node, outGrads: readonly (Value | null)[], needs?: readonly boolean[]): (Value | null)[];
}

const rules = new Map<string, GradRule>();
const key = (opType: string, domain = ''): string => (domain ? `${domain}::${opType}` : opType);

/** Registers a rule; throws if the op already has one (each op has exactly one rule). */
export function registerGrad(rule: GradRule): void {
  const k = key(rule.opType, rule.domain);
  if (rules.has(k)) throw new Error(`duplicate gradient rule for op '${k}'`);
  rules.set(k, rule);
}

/** Registers one rule per op type for ops whose inputs are all non-differentiable (or whose outputs are). */
export function registerNonDifferentiable(...opTypes: string[]): void {
  for (const opType of opTypes) registerGrad({ opType, vjp: (node) => node.inputs.map(() => null) });
}

/** The rule for a node's op; throws a clear error when there is none. */
export function gradRule(node: Pick<Node, 'opType' | 'domain'>): GradRule {
  const rule = rules.get(key(node.opType, node.domain));
  if (!rule) {
    const k = key(node.opType, node.domain);
    throw new Error(`no gradient rule for op '${k}' (add one in src/ops/ beside its forward builder)`);
  }
  return rule;
}

/** Whether an op type has a rule. */
export function hasGradRule(opType: string, domain = ''): boolean {
  return rules.has(key(opType, domain));
}

/** Every op type with a rule ('domain::Op' for non-default domains), sorted. */
export function registeredOps(): string[] {
  return [...rules.keys()].sort();
}

/** Reads a constant int64/int32 input of a node (an initializer), e.g. Reshape's shape or Slice's starts. */
export function constInts(node: Node, index: number): number[] {
  const v = node.inputs[index];
  const t = v ? v.graph.initializers.get(v.name) : undefined;
  if (!v || !t || (t.dtype !== 'int64' && t.dtype !== 'int32')) {
    throw new Error(`${node.opType} (node '${node.outputs[0]?.name}'): gradient needs input ${index} to be a constant integer tensor`);
  }
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** The gradient of a single-output node's only output (rules are called only when some output has one). */
export function outGrad(node: Node, outGrads: readonly (Value | null)[]): Value {
  const g = outGrads[0];
  if (!g) throw new Error(`${node.opType} (node '${node.outputs[0]?.name}'): called without an output gradient`);
  return g;
}
