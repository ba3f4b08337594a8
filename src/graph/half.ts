// IEEE 754 binary16 ("half", ONNX FLOAT16) ⇄ float32, for float16 initializers and for reading float16 outputs.
// Node 20 has no Float16Array, so halves travel as their bit patterns in a Uint16Array (onnxruntime-common's form).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 to the nearest half's bits (ties to even); overflow gives ±Infinity, NaN stays NaN. */
export function halfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN (quiet)
  const e = exp - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // beyond 65504 after rounding: Inf
  if (e <= 0) {
    // subnormal half (or zero): the 24-bit significand shifted right by 14 − e places, rounded to nearest even
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  // normal: keep 10 of the 23 significand bits; a carry out of the significand correctly bumps the exponent
  const rounded = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (rounded + (rest > 0x1000 || (rest === 0x1000 && (rounded & 1)) ? 1 : 0));
}

/** The float32 value of a half's bits (exact: every half is a float32). */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Float32 values to half bit patterns, rounded to nearest even. */
export function toHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]!);
  return out;
}

/** Half bit patterns to float32 values. */
export function fromHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfValue(bits[i]!);
  return out;
}
