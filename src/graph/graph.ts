// The IR: a graph of typed values with static shapes, built op by op, serialised to ONNX by onnx.ts.
// Shapes are known when the graph is built, so every shape error surfaces here, naming the op.
import { toHalf } from './half.ts';
import { type DType, type Tensor, formatShape } from './tensor.ts';

/** A dimension: a size, or a symbolic name (e.g. 'batch') left free for onnxruntime. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Node attribute values, tagged with their ONNX attribute type. */
export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: Tensor };

export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
};

/** A value flowing through the graph: a graph input, an initializer, or a node output. */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** The static shape; throws if a dimension is symbolic (gradient rules need concrete sizes). */
  get dims(): number[] {
    return this.shape.map((d) => {
      if (typeof d !== 'number') throw new Error(`value '${this.name}' has symbolic shape ${formatShape(this.shape)}`);
      return d;
    });
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly opType: string;
  /** '' for the default ONNX domain, 'com.microsoft' for onnxruntime's contrib ops. */
  readonly domain: string;
  /** Inputs in ONNX order; null for an omitted optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, Attr>>;
  /** Where the node was built (e.g. `grad.Softmax` for a gradient rule's nodes); names the ONNX node, so profiles group by it. */
  readonly scope?: string;
  /**
   * A composite's standard-op nodes. A composite (domain COMPOSITE) is one node to autodiff, with its own gradient
   * rule (e.g. attention, whose backward is cheaper knowing the whole block), and its body to onnxruntime.
   */
  readonly body?: readonly Node[];
}

/** The domain of composite nodes: they exist only in vitkit's IR; toOnnx writes their bodies instead. */
export const COMPOSITE = 'vitkit';

/** The nodes as onnxruntime sees them: every composite replaced by its body (recursively). */
export function inlineComposites(nodes: readonly Node[]): Node[] {
  return nodes.flatMap((n) => (n.body ? inlineComposites(n.body) : [n]));
}

export interface OutputSpec {
  readonly dtype: DType;
  readonly shape: Shape;
  /** A chosen name; otherwise one is generated from the op type. */
  readonly name?: string;
}

export class Graph {
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, Tensor>();
  readonly nodes: Node[] = [];
  private readonly names = new Set<string>();
  private readonly scalars = new Map<string, Value>();
  private counter = 0;
  private scope: string | undefined;

  constructor(readonly name = 'vitkit') {}

  /** A fresh unique name from a prefix. */
  uniqueName(prefix: string): string {
    let name = prefix;
    while (this.names.has(name)) name = `${prefix}_${++this.counter}`;
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph already has a value named '${name}'`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input. */
  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.claim(name), dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** Stores a tensor in the model file under a name. */
  initializer(name: string, t: Tensor): Value {
    const v = new Value(this, this.claim(name), t.dtype, t.shape);
    this.initializers.set(v.name, t);
    return v;
  }

  /** A scalar constant, shared by every use of the same (dtype, value). */
  scalar(value: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let v = this.scalars.get(key);
    if (!v) {
      v = this.initializer(this.uniqueName(`const_${dtype}`), scalarTensor(value, dtype));
      this.scalars.set(key, v);
    }
    return v;
  }

  /** A constant tensor (e.g. a shape for Reshape). */
  constant(t: Tensor, prefix = 'const'): Value {
    return this.initializer(this.uniqueName(prefix), t);
  }

  /** Runs `build` with every node it adds tagged with `scope` (innermost scope wins). */
  inScope<T>(scope: string, build: () => T): T {
    const outer = this.scope;
    this.scope = scope;
    try {
      return build();
    } finally {
      this.scope = outer;
    }
  }

  /** Appends a node; returns its outputs. Op builders in src/ops check shapes before calling this. */
  node(
    opType: string,
    inputs: readonly (Value | null)[],
    outputs: readonly OutputSpec[],
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Value[] {
    for (const x of inputs) {
      if (x && x.graph !== this) throw new Error(`${opType}: input '${x.name}' belongs to another graph`);
    }
    const outs = outputs.map(
      (o) => new Value(this, this.claim(o.name ?? this.uniqueName(opType.toLowerCase())), o.dtype, o.shape),
    );
    this.nodes.push({ opType, domain, inputs, outputs: outs, attrs, ...(this.scope ? { scope: this.scope } : {}) });
    return outs;
  }

  /**
   * Adds a composite node: `build` adds its body with standard ops on `inputs` and returns its outputs. The body may
   * read only `inputs`, initializers and its own values (so autodiff may treat the composite as one op).
   */
  composite(opType: string, inputs: readonly Value[], build: () => Value[], attrs: Record<string, Attr> = {}): Value[] {
    const start = this.nodes.length;
    const outputs = build();
    const body = this.nodes.splice(start);
    const known = new Set<Value>(inputs);
    for (const n of body) {
      for (const x of n.inputs) {
        if (x && !known.has(x) && !this.initializers.has(x.name)) {
          throw new Error(`composite ${opType}: body reads '${x.name}', which is not one of its inputs`);
        }
      }
      for (const o of n.outputs) known.add(o);
    }
    for (const o of outputs) {
      if (!body.some((n) => n.outputs.includes(o))) throw new Error(`composite ${opType}: output '${o.name}' is not made by its body`);
    }
    this.nodes.push({ opType, domain: COMPOSITE, inputs, outputs, attrs, body, ...(this.scope ? { scope: this.scope } : {}) });
    return outputs;
  }

  /**
   * Gives a node optional outputs it was built without (LayerNormalization's Mean and InvStdDev, which its gradient
   * reuses instead of recomputing them), with attributes they need; returns the new values.
   */
  addOutputs(node: Node, outputs: readonly OutputSpec[], attrs: Record<string, Attr> = {}): Value[] {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new Error(`addOutputs: ${node.opType} node '${node.outputs[0]?.name}' is not in this graph`);
    const outs = outputs.map((o) => new Value(this, this.claim(o.name ?? this.uniqueName(node.opType.toLowerCase())), o.dtype, o.shape));
    this.nodes[i] = { ...node, outputs: [...node.outputs, ...outs], attrs: { ...node.attrs, ...attrs } };
    return outs;
  }

  /** Marks a value as a graph output (adding an Identity when the name differs). */
  output(v: Value, name = v.name): Value {
    const out = name === v.name && !this.isInputOrInitializer(v) ? v : this.node('Identity', [v], [{ dtype: v.dtype, shape: v.shape, name }])[0]!;
    this.outputs.push(out);
    return out;
  }

  private isInputOrInitializer(v: Value): boolean {
    return this.initializers.has(v.name) || this.inputs.includes(v);
  }
}

function scalarTensor(value: number, dtype: DType): Tensor {
  switch (dtype) {
    case 'float32':
      return { dtype, shape: [], data: Float32Array.of(value) };
    case 'float16':
      return { dtype, shape: [], data: toHalf(Float32Array.of(value)) };
    case 'float64':
      return { dtype, shape: [], data: Float64Array.of(value) };
    case 'int64':
      return { dtype, shape: [], data: BigInt64Array.of(BigInt(value)) };
    case 'int32':
      return { dtype, shape: [], data: Int32Array.of(value) };
    case 'int8':
      return { dtype, shape: [], data: Int8Array.of(value) };
    case 'uint8':
    case 'bool':
      return { dtype, shape: [], data: Uint8Array.of(value) };
  }
}
