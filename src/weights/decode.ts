// Raw little-endian element types found in checkpoint files, decoded to vitkit's host tensors.
// Floating types all become float32 (the only float type the model runs in); integer types keep their width.
// Assumes a little-endian host, as every platform Node ships for is.
import { fromHalf } from '../graph/half.ts';
import { type DType, type Tensor, numel, tensor } from '../graph/tensor.ts';

/** Element types the readers understand (safetensors spelling, also used for .npy and torch storages). */
export type RawType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

export const rawBytes: Readonly<Record<RawType, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

const rawOf: Readonly<Record<DType, RawType>> = {
  float32: 'F32', float16: 'F16', float64: 'F64', int64: 'I64', int32: 'I32', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

export function isRawType(s: string): s is RawType {
  return Object.hasOwn(rawBytes, s);
}

/** Copies into fresh aligned memory: file offsets need not be multiples of the element size. */
function aligned(bytes: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return buf;
}

/** Decodes `bytes` (exactly numel(shape) elements of `raw`) into a tensor; floats become float32. */
export function decodeTensor(raw: RawType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const buf = aligned(bytes);
  const n = numel(shape);
  switch (raw) {
    case 'F32':
      return tensor('float32', shape, new Float32Array(buf));
    case 'F64':
      return tensor('float32', shape, Float32Array.from(new Float64Array(buf)));
    case 'F16':
      return tensor('float32', shape, fromHalf(new Uint16Array(buf)));
    case 'BF16': {
      // bfloat16 is the top half of a float32's bits
      const src = new Uint16Array(buf);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      return tensor('float32', shape, new Float32Array(bits.buffer));
    }
    case 'I64':
      return tensor('int64', shape, new BigInt64Array(buf));
    case 'I32':
      return tensor('int32', shape, new Int32Array(buf));
    case 'I8':
      return tensor('int8', shape, new Int8Array(buf));
    case 'U8':
      return tensor('uint8', shape, new Uint8Array(buf));
    case 'BOOL':
      return tensor('bool', shape, new Uint8Array(buf));
  }
}

/** The raw type and bytes (a view, not a copy) a writer stores for a tensor. */
export function encodeTensor(t: Tensor): { raw: RawType; bytes: Uint8Array } {
  const d = t.data;
  return { raw: rawOf[t.dtype], bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}
