// The IR: a graph of typed values with static shapes, built op by op, serialised to ONNX by onnx.ts.
// Shapes are known when the graph is built, so every shape error surfaces here, naming the op.
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
    this.nodes.push({ opType, domain, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Marks a value as a graph output under a name (adding an Identity when the name differs). */
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
