// Decoded 8-bit images as plain arrays, and channel conversion between grayscale and RGB.
// Pure maths, no `node:` imports: the browser demo reuses it on canvas pixels.

/** Channel counts vitkit works with: grayscale or RGB (alpha is dropped when decoding). */
export type Channels = 1 | 3;

/** An 8-bit image stored row-major, channels last (HWC), as decoders produce it. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
}

/** Wraps HWC bytes as a RawImage, checking that the length fits the size. */
export function rawImage(data: Uint8Array, width: number, height: number, channels: Channels): RawImage {
  if (data.length !== width * height * channels) {
    throw new Error(`image data has ${data.length} bytes but ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
  return { data, width, height, channels };
}

/**
 * Converts to `channels` the way PIL's `convert('L')` / `convert('RGB')` does, so that grayscale models
 * see the same pixels as in Python: RGB→gray is ITU-R 601-2 luma in PIL's 16-bit fixed point
 * (L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16); gray→RGB replicates the value.
 */
export function toChannels(image: RawImage, channels: Channels): RawImage {
  if (image.channels === channels) return image;
  const { data, width, height } = image;
  const n = width * height;
  const out = new Uint8Array(n * channels);
  if (channels === 1) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[i] = (data[j] * 19595 + data[j + 1] * 38470 + data[j + 2] * 7471 + 0x8000) >>> 16;
    }
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) out[j] = out[j + 1] = out[j + 2] = data[i];
  }
  return { data: out, width, height, channels };
}

/** Writes the image planar (CHW, as ImageSet and the model store pixels) into `out` at `offset`. */
export function writeChw(image: RawImage, out: Uint8Array, offset: number): void {
  const { data, channels: c } = image;
  const plane = image.width * image.height;
  for (let ch = 0; ch < c; ch++) {
    const o = offset + ch * plane;
    for (let p = 0, i = ch; p < plane; p++, i += c) out[o + p] = data[i];
  }
}

/** Reads one planar (CHW) image of an ImageSet back into an interleaved RawImage: the inverse of writeChw. */
export function readChw(planar: Uint8Array, offset: number, width: number, height: number, channels: Channels): RawImage {
  const plane = width * height;
  const data = new Uint8Array(plane * channels);
  for (let ch = 0; ch < channels; ch++) {
    const o = offset + ch * plane;
    for (let p = 0, i = ch; p < plane; p++, i += channels) data[i] = planar[o + p]!;
  }
  return rawImage(data, width, height, channels);
}
