// The host side of TrainSession: named float32 buffer sets wrapped once as the engine's tensors, and the checks
// that turn a wrongly shaped batch into an error naming it (before onnxruntime sees it).
import { type Tensor, formatShape, numel } from '../graph/tensor.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import type { ViTConfig } from '../model/config.ts';
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

export function scalarTensor(engine: Engine): [Float32Array, EngineTensor] {
  const d = new Float32Array(1);
  return [d, new engine.Tensor('float32', d, [])];
}

/** Images as a float32 tensor or raw data laid out [B, C, S, S]; labels as int64 [B]; soft targets as float32 [B, K]. */
export type ImagesInput = Tensor<'float32'> | Float32Array;
export type LabelsInput = Tensor<'int64'> | BigInt64Array;
export type TargetsInput = Tensor<'float32'> | Float32Array;

export function imageData(images: ImagesInput, cfg: ViTConfig, batch: number): Float32Array {
  const expected = [batch, cfg.inChans, cfg.imgSize, cfg.imgSize];
  if (images instanceof Float32Array) {
    if (images.length !== numel(expected)) throw new Error(`images have ${images.length} values, expected ${formatShape(expected)} = ${numel(expected)}`);
    return images;
  }
  if (images.dtype !== 'float32' || images.shape.length !== 4 || images.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`images are ${images.dtype}${formatShape(images.shape)}, expected float32${formatShape(expected)}`);
  }
  return images.data;
}

export function labelData(labels: LabelsInput | TargetsInput, batch: number, classes: number): BigInt64Array {
  if (labels instanceof Float32Array || (!(labels instanceof BigInt64Array) && labels.dtype !== 'int64')) {
    throw new Error(`expected int64 labels [${batch}], got float32 values: pass soft targets only to a session made with softTargets`);
  }
  const data = labels instanceof BigInt64Array ? labels : (labels.data as BigInt64Array);
  if (!(labels instanceof BigInt64Array) && labels.shape.length !== 1) throw new Error(`labels are int64${formatShape(labels.shape)}, expected int64[${batch}]`);
  if (data.length !== batch) throw new Error(`got ${data.length} labels, expected ${batch}`);
  const k = BigInt(classes);
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < 0n || data[i]! >= k) throw new Error(`label ${data[i]} at index ${i} is out of range [0, ${classes})`);
  }
  return data;
}

export function targetData(targets: LabelsInput | TargetsInput, batch: number, classes: number): Float32Array {
  const data = targets instanceof Float32Array ? targets : targets instanceof BigInt64Array ? null : targets.dtype === 'float32' ? (targets.data as Float32Array) : null;
  if (!data) throw new Error(`this session takes soft targets (float32 [${batch}, ${classes}]), not int64 labels`);
  if (data.length !== batch * classes) throw new Error(`targets have ${data.length} values, expected [${batch}, ${classes}] = ${batch * classes}`);
  return data;
}

/** Checks that every mask the graph takes is present with [B, ...shape] elements; returns them by input name. */
export function maskData(masks: ReadonlyMap<string, Uint8Array> | undefined, specs: readonly NoiseSpec[], batch: number): ReadonlyMap<string, Uint8Array> {
  for (const s of specs) {
    const m = masks?.get(s.name);
    if (!m) throw new Error(`missing keep-mask '${s.name}' (the step graph has dropout/drop path: draw masks with the batch, see Batches' noise option)`);
    if (m.length !== batch * numel(s.shape)) throw new Error(`keep-mask '${s.name}' has ${m.length} values, expected [${batch}, ${s.shape.join(', ')}]`);
  }
  return masks ?? new Map();
}
