// Attention maps drawn over the image the model saw: the map is upsampled with the PIL-exact bicubic resampler,
// coloured with a Vega colour scheme (the charts' own) and composited onto the image with sharp.
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { type PreprocessOptions, resizePlan, resolvePreprocessOptions } from '../data/preprocess.ts';
import { type RawImage, toChannels } from '../data/raw-image.ts';
import { resample } from '../data/resample.ts';
import { loadVega } from './charts.ts';
import type { AttentionMap } from './rollout.ts';

/** 'heat': a colour map blended over the image; 'mask': the image darkened where attention is low (the paper's Fig. 6). */
export type OverlayStyle = 'heat' | 'mask';

export const OVERLAY_STYLES: readonly OverlayStyle[] = ['heat', 'mask'];

/** The crop the model sees (its preprocessing's resize and centre crop, before normalisation), in RGB. */
export function modelView(image: RawImage, pre: PreprocessOptions): RawImage {
  const o = resolvePreprocessOptions(pre);
  const src = o.inChans === 1 ? toChannels(image, 1) : image;
  const plan = resizePlan(src.width, src.height, o);
  const resized = resample(src, plan.width, plan.height, o.interpolation);
  const c = resized.channels;
  const data = new Uint8Array(plan.size * plan.size * c);
  for (let y = 0; y < plan.size; y++) {
    const from = ((y + plan.top) * resized.width + plan.left) * c;
    data.set(resized.data.subarray(from, from + plan.size * c), y * plan.size * c);
  }
  return toChannels({ data, width: plan.size, height: plan.size, channels: c }, 3);
}

/** Side maps are drawn at: the model's resolution times the smallest whole factor that reaches 256 px. */
export function displaySize(imgSize: number): number {
  return imgSize * Math.max(1, Math.ceil(256 / imgSize));
}

/** The map min-max scaled to bytes and upsampled to size×size. */
function upsampledMap(map: AttentionMap, size: number): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi > lo ? hi - lo : 1;
  const bytes = Uint8Array.from(map.values, (v) => Math.round((255 * (v - lo)) / range));
  return resample({ data: bytes, width: map.grid, height: map.grid, channels: 1 }, size, size, 'bicubic').data;
}

let inferno: Uint8Array | undefined;

/** Vega's 'inferno' scheme as a 256-entry RGB lookup table. */
async function colourTable(): Promise<Uint8Array> {
  if (inferno) return inferno;
  const at = (await loadVega()).scheme('inferno') as (t: number) => string;
  inferno = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const m = /rgb\((\d+), ?(\d+), ?(\d+)\)/.exec(at(i / 255));
    if (!m) throw new Error(`unexpected colour '${at(i / 255)}' from vega's inferno scheme`);
    inferno.set([Number(m[1]), Number(m[2]), Number(m[3])], i * 3);
  }
  return inferno;
}

function rawPng(data: Uint8Array, size: number, channels: 1 | 3 | 4): Sharp {
  return sharp(data, { raw: { width: size, height: size, channels } });
}

/** The view alone, resized to size×size, as PNG. */
export async function viewPng(view: RawImage, size: number): Promise<Buffer> {
  return rawPng(resample(view, size, size, 'bicubic').data, size, view.channels).png().toBuffer();
}

/** The map over the view (both resized to size×size) as PNG. */
export async function overlayPng(view: RawImage, map: AttentionMap, size: number, style: OverlayStyle): Promise<Buffer> {
  const base = resample(view, size, size, 'bicubic');
  const m = upsampledMap(map, size);
  const n = size * size;
  let layer: Uint8Array;
  if (style === 'heat') {
    // Colour with an opacity that grows with attention, so unattended regions stay readable.
    const lut = await colourTable();
    layer = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      layer.set(lut.subarray(m[i]! * 3, m[i]! * 3 + 3), i * 4);
      layer[i * 4 + 3] = 64 + Math.round((m[i]! * 160) / 255);
    }
  } else {
    layer = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) layer[i * 3] = layer[i * 3 + 1] = layer[i * 3 + 2] = m[i]!;
  }
  return rawPng(base.data, size, base.channels)
    .composite([
      {
        input: Buffer.from(layer),
        raw: { width: size, height: size, channels: style === 'heat' ? 4 : 3 },
        blend: style === 'heat' ? 'over' : 'multiply',
      },
    ])
    .png()
    .toBuffer();
}
