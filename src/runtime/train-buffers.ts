// The host side of TrainSession: named float32 buffer sets wrapped once as the engine's tensors, the checks that
// turn a wrongly shaped batch into an error naming it (before onnxruntime sees it), and a batch's input tensors.
import { type StateDict, type Tensor, formatShape, numel } from '../graph/tensor.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import type { ViTConfig } from '../model/config.ts';
import { type ExampleInput, type StepGraphSpec, stateName } from '../model/step-graph.ts';
import type { Engine, EngineTensor } from './engine.ts';

/** One named set of float32 buffers with their tensor wrappers. */
export class BufferSet {
  readonly data = new Map<string, Float32Array>();
  readonly tensors: Record<string, EngineTensor> = {};
  private readonly views = new Map<string, Record<string, EngineTensor>>();

  constructor(engine: Engine, shapes: ReadonlyMap<string, readonly number[]>) {
    for (const [name, shape] of shapes) {
      const d = new Float32Array(numel(shape));
      this.data.set(name, d);
      this.tensors[name] = new engine.Tensor('float32', d, [...shape]);
    }
  }

  /** The same tensors keyed by another name (e.g. `new.<name>` for fetches); made once per key. */
  renamed(key: string, rename: (name: string) => string): Record<string, EngineTensor> {
    let v = this.views.get(key);
    if (!v) {
      v = Object.fromEntries(Object.entries(this.tensors).map(([k, t]) => [rename(k), t]));
      this.views.set(key, v);
    }
    return v;
  }
}

/** The entries of `record` named in `names`, in that order. */
export function pick<T>(record: Readonly<Record<string, T>>, names: readonly string[]): Record<string, T> {
  return Object.fromEntries(names.map((n) => [n, record[n]!]));
}

export function scalarTensor(engine: Engine): [Float32Array, EngineTensor] {
  const d = new Float32Array(1);
  return [d, new engine.Tensor('float32', d, [])];
}

/**
 * Examples as a float32 tensor or raw data: images laid out [B, C, S, S], or for a features session the head's input
 * [B, D'] (see ExampleInput); labels as int64 [B]; soft targets as float32 [B, K].
 */
export type ImagesInput = Tensor<'float32'> | Float32Array;
export type LabelsInput = Tensor<'int64'> | BigInt64Array;
export type TargetsInput = Tensor<'float32'> | Float32Array;

/** The batch's example values, checked against the graph's input (the error names it: images or features). */
export function exampleData(x: ImagesInput, input: ExampleInput, batch: number): Float32Array {
  const expected = [batch, ...input.shape];
  if (x instanceof Float32Array) {
    if (x.length !== numel(expected)) {
      throw new Error(`${input.name} have ${x.length} values, expected ${formatShape(expected)} = ${numel(expected)}`);
    }
    return x;
  }
  if (x.dtype !== 'float32' || x.shape.length !== expected.length || x.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${input.name} are ${x.dtype}${formatShape(x.shape)}, expected float32${formatShape(expected)}`);
  }
  return x.data;
}

export function labelData(labels: LabelsInput | TargetsInput, batch: number, classes: number): BigInt64Array {
  if (labels instanceof Float32Array || (!(labels instanceof BigInt64Array) && labels.dtype !== 'int64')) {
    throw new Error(`expected int64 labels [${batch}], got float32 values: pass soft targets only to a session made with softTargets`);
  }
  const data = labels instanceof BigInt64Array ? labels : (labels.data as BigInt64Array);
  if (!(labels instanceof BigInt64Array) && labels.shape.length !== 1) {
    throw new Error(`labels are int64${formatShape(labels.shape)}, expected int64[${batch}]`);
  }
  if (data.length !== batch) throw new Error(`got ${data.length} labels, expected ${batch}`);
  const k = BigInt(classes);
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < 0n || data[i]! >= k) throw new Error(`label ${data[i]} at index ${i} is out of range [0, ${classes})`);
  }
  return data;
}

export function targetData(targets: LabelsInput | TargetsInput, batch: number, classes: number): Float32Array {
  const data = targets instanceof Float32Array
    ? targets
    : targets instanceof BigInt64Array
      ? null
      : targets.dtype === 'float32'
        ? (targets.data as Float32Array)
        : null;
  if (!data) throw new Error(`this session takes soft targets (float32 [${batch}, ${classes}]), not int64 labels`);
  if (data.length !== batch * classes) throw new Error(`targets have ${data.length} values, expected [${batch}, ${classes}] = ${batch * classes}`);
  return data;
}

/** Checks that every mask the graph takes is present with [B, ...shape] elements; returns them by input name. */
export function maskData(
  masks: ReadonlyMap<string, Uint8Array> | undefined,
  specs: readonly NoiseSpec[],
  batch: number,
): ReadonlyMap<string, Uint8Array> {
  for (const s of specs) {
    const m = masks?.get(s.name);
    if (!m) {
      throw new Error(`missing keep-mask '${s.name}' (the step graph has dropout/drop path: draw masks with the batch, see Batches' noise option)`);
    }
    if (m.length !== batch * numel(s.shape)) {
      throw new Error(`keep-mask '${s.name}' has ${m.length} values, expected [${batch}, ${s.shape.join(', ')}]`);
    }
  }
  return masks ?? new Map();
}

/** One step's validated batch: images (or features), labels or soft targets, keep-masks by input name. */
export interface BatchData {
  readonly x: Float32Array;
  readonly y: BigInt64Array | Float32Array;
  readonly masks: ReadonlyMap<string, Uint8Array>;
}

/** Examples [start, start + n) of a batch as the engine's tensors by graph input name (views, no copies). */
export function batchTensors(
  engine: Engine,
  cfg: ViTConfig,
  input: ExampleInput,
  masks: readonly NoiseSpec[],
  b: BatchData,
  start: number,
  n: number,
): Record<string, EngineTensor> {
  const k = cfg.numClasses;
  const per = numel(input.shape);
  const T = engine.Tensor;
  const out: Record<string, EngineTensor> = {
    [input.name]: new T('float32', b.x.subarray(start * per, (start + n) * per), [n, ...input.shape]),
    ...(b.y instanceof BigInt64Array
      ? { labels: new T('int64', b.y.subarray(start, start + n), [n]) }
      : { targets: new T('float32', b.y.subarray(start * k, (start + n) * k), [n, k]) }),
  };
  for (const m of b.masks.size ? masks : []) {
    const size = numel(m.shape);
    out[m.name] = new T('uint8', b.masks.get(m.name)!.subarray(start * size, (start + n) * size), [n, ...m.shape]);
  }
  return out;
}

/**
 * Checks a state dict for TrainSession.load(): every parameter present with its shape, and the optimizer state and
 * EMA each either complete or absent (their names are returned with whether they are present).
 */
export function checkLoadState(
  state: StateDict,
  spec: Pick<StepGraphSpec, 'params' | 'trainable' | 'slots'>,
  optimizerSlots: readonly string[],
): { optimizerState: string[]; ema: string[]; haveOptimizer: boolean; haveEma: boolean } {
  const check = (n: string, shape: readonly number[]) => {
    const t = state.get(n)!;
    if (t.dtype !== 'float32') throw new Error(`'${n}' is ${t.dtype}, expected float32`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`'${n}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    }
  };
  for (const [n, shape] of spec.params) {
    if (!state.has(n)) throw new Error(`missing parameter '${n}' (expected shape ${formatShape(shape)})`);
    check(n, shape);
  }
  const optimizerState = optimizerSlots.flatMap((s) => spec.trainable.map((n) => stateName(s, n)));
  const ema = spec.slots.includes('ema') ? spec.trainable.map((n) => stateName('ema', n)) : [];
  const paramOf = (name: string) => name.slice(name.indexOf('.') + 1);
  const present = (names: readonly string[], what: string): boolean => {
    const have = names.filter((n) => state.has(n));
    if (have.length > 0 && have.length < names.length) {
      const missing = names.filter((n) => !state.has(n));
      throw new Error(
        `${what} is incomplete: missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`,
      );
    }
    for (const n of have) check(n, spec.params.get(paramOf(n))!);
    return have.length > 0;
  };
  return { optimizerState, ema, haveOptimizer: present(optimizerState, 'optimizer state'), haveEma: present(ema, 'EMA state') };
}
