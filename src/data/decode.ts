// Node-side image decoding with sharp, and the file-level entry points of preprocessing.
// The maths is in preprocess.ts (shared with the browser); this file only turns files into RawImages.
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { UserError } from '../errors.ts';
import { tensor } from '../graph/tensor.ts';
import type { Tensor } from '../graph/tensor.ts';
import { preprocess } from './preprocess.ts';
import type { PreprocessOptions } from './preprocess.ts';
import type { RawImage } from './raw-image.ts';

/** Largest image decoded by default (pixels): 0x3FFF², sharp's own guard against decompression bombs. */
export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (checked from the header, before decoding). */
  readonly maxPixels?: number;
  /** Name used in error messages for a Buffer input (a path names itself). */
  readonly name?: string;
  /**
   * Resize with sharp to this side: shorter side first, then a centre crop to a square (fast, for loading
   * datasets; model-input preprocessing uses the PIL-exact resample of preprocess.ts instead).
   */
  readonly resizeTo?: number;
}

const FORMATS_HINT = 'pass a JPEG, PNG, WebP, GIF or TIFF file';

/** libvips' first complaint, on one line (it repeats each warning on lines of its own). */
function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

async function checkFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new UserError(`${path}: is a directory, not an image: ${FORMATS_HINT}`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${reason(e)})`}: check the path`);
  }
}

/**
 * Decodes an image file or buffer into 8-bit HWC pixels: grayscale sources (8 or 16 bit) stay one channel,
 * everything else becomes sRGB; alpha is dropped (as PIL's convert('RGB') does). EXIF orientation is not applied,
 * as neither timm nor PIL's loader applies it. Throws a UserError naming the file when it is missing, not an image,
 * corrupt or truncated, or larger than `maxPixels`.
 */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<RawImage> {
  const name = typeof input === 'string' ? input : (opts.name ?? '<image buffer>');
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof input === 'string') await checkFile(input);
  // failOn 'warning' turns truncated or damaged pixel data into errors instead of grey fill.
  const img = sharp(input, { failOn: 'warning', limitInputPixels: false });
  let meta: Metadata;
  try {
    meta = await img.metadata();
  } catch (e) {
    throw new UserError(`${name}: not a decodable image (${reason(e)}): ${FORMATS_HINT}`);
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > maxPixels) {
    throw new UserError(`${name}: image is ${width}x${height}, over the limit of ${maxPixels} pixels: downscale it first`);
  }
  const gray = meta.space === 'b-w' || meta.space === 'grey16';
  const side = opts.resizeTo;
  if (side !== undefined && (width !== side || height !== side)) img.resize(side, side, { fit: 'cover', kernel: 'cubic' });
  try {
    const { data, info } = await img
      .removeAlpha()
      .toColourspace(gray ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels === 1 ? 1 : 3;
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels };
  } catch (e) {
    throw new UserError(`${name}: image data is corrupt or truncated (${reason(e)}): replace or re-export the file`);
  }
}

/** Decodes and preprocesses one file into [inChans, imgSize, imgSize]. */
export async function preprocessFile(path: string, opts: PreprocessOptions): Promise<Tensor<'float32'>> {
  return preprocess(await decodeImage(path), opts);
}

/**
 * Maps `fn` over `items` with at most `limit` calls in flight, keeping the order of results.
 * `onProgress(done, total)` is called after each item.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onProgress?: (done: number, total: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
      onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/** Default decode concurrency: sharp decodes on libuv's pool, so a couple per core keeps it busy. */
export function defaultConcurrency(): number {
  return availableParallelism() * 2;
}

/** Decodes (in parallel) and preprocesses files into one [B, inChans, imgSize, imgSize] batch, in order. */
export async function preprocessBatch(
  paths: readonly string[],
  opts: PreprocessOptions,
  concurrency = defaultConcurrency(),
): Promise<Tensor<'float32'>> {
  if (paths.length === 0) throw new UserError('no images given: pass at least one image file');
  const items = await mapConcurrent(paths, concurrency, async (p) => preprocess(await decodeImage(p), opts));
  const [c, s] = items[0].shape;
  const per = c * s * s;
  const out = new Float32Array(items.length * per);
  items.forEach((t, i) => out.set(t.data, i * per));
  return tensor('float32', [items.length, c, s, s], out);
}
