// The canvas side of the demo: decoding a file into vitkit's RawImage, and drawing what the model sees with the
// attention map over it. Geometry comes from src/data/preprocess.ts, so the drawn crop is the one the model ran on.
import type { AttentionMap } from '../src/analysis/rollout.ts';
import { type PreprocessOptions, resizePlan, resolvePreprocessOptions } from '../src/data/preprocess.ts';
import { type RawImage, rawImage } from '../src/data/raw-image.ts';

/** A decoded file: the bitmap for drawing and its RGB bytes for the model. */
export interface Decoded {
  readonly bitmap: ImageBitmap;
  readonly image: RawImage;
}

/**
 * Decodes an image file to RGB bytes. Colour management and premultiplication are off so the bytes equal what
 * sharp decodes in Node (exactly for opaque PNGs; alpha is dropped as there, up to the canvas's premultiplied
 * rounding on translucent pixels).
 */
export async function decodeFile(file: Blob): Promise<Decoded> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser has no 2D canvas');
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { bitmap, image: rawImage(rgb, width, height, 3) };
}

/** Dark blue → red → yellow, with more opacity where attention is high. */
function heat(t: number): [number, number, number, number] {
  const lerp = (a: number, b: number, u: number): number => Math.round(a + (b - a) * u);
  const [from, to, u] = t < 0.5 ? [[20, 10, 110], [225, 45, 40], 2 * t] : [[225, 45, 40], [255, 230, 90], 2 * t - 1];
  return [lerp(from[0]!, to[0]!, u), lerp(from[1]!, to[1]!, u), lerp(from[2]!, to[2]!, u), Math.round(255 * (0.1 + 0.55 * t))];
}

/** The map min-max scaled and coloured, one pixel per patch (the caller's scaling smooths it). */
function heatmap(map: AttentionMap): OffscreenCanvas {
  const { grid, values } = map;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const img = new ImageData(grid, grid);
  values.forEach((v, i) => img.data.set(heat(hi > lo ? (v - lo) / (hi - lo) : 0), 4 * i));
  const c = new OffscreenCanvas(grid, grid);
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}

/** Draws the model's crop of the image (its resize plan mapped back to source pixels), then the map if given. */
export function drawView(canvas: HTMLCanvasElement, bitmap: ImageBitmap, pre: PreprocessOptions, map: AttentionMap | null): void {
  const plan = resizePlan(bitmap.width, bitmap.height, resolvePreprocessOptions(pre));
  const sx = bitmap.width / plan.width;
  const sy = bitmap.height / plan.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser has no 2D canvas');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, plan.left * sx, plan.top * sy, plan.size * sx, plan.size * sy, 0, 0, canvas.width, canvas.height);
  if (map) ctx.drawImage(heatmap(map), 0, 0, canvas.width, canvas.height);
}
