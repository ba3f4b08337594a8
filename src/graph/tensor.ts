// Host tensors: the plain data that crosses module boundaries (weights, batches, session inputs/outputs).
// No maths here: compute happens in onnxruntime.

/** Element types vitkit handles; names match onnxruntime-common's tensor types. */
export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/**
 * The typed array that backs each dtype (bool is stored one byte per element, as ONNX does; float16 as its IEEE
 * binary16 bit patterns, as onnxruntime-common takes it where the runtime has no Float16Array — see half.ts).
 */
export interface DataFor {
  float32: Float32Array;
  float16: Uint16Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TensorData = DataFor[DType];

/** A dense, row-major host tensor. */
export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataFor[D];
}

/** Named tensors in insertion order, keyed by canonical (timm) parameter name. */
export type StateDict = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const ctors = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/** A zero-filled tensor. */
export function zeros<D extends DType = 'float32'>(shape: readonly number[], dtype: D = 'float32' as D): Tensor<D> {
  return { dtype, shape: [...shape], data: new ctors[dtype](numel(shape)) as DataFor[D] };
}

/** Wraps data as a tensor, checking that its length fits the shape. */
export function tensor<D extends DType>(dtype: D, shape: readonly number[], data: DataFor[D]): Tensor<D> {
  if (data.length !== numel(shape)) {
    throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${numel(shape)}`);
  }
  return { dtype, shape: [...shape], data };
}

/** A float32 tensor from plain numbers. */
export function float32(shape: readonly number[], values: ArrayLike<number>): Tensor<'float32'> {
  return tensor('float32', shape, Float32Array.from(values));
}

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
