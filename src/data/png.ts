// One image of an in-memory ImageSet as PNG bytes (sharp), for what leaves vitkit as files: the demo's samples and
// export-run's ImageFolder.
import sharp from 'sharp';
import { type ImageSet, imageBytes } from './image-set.ts';
import { readChw } from './raw-image.ts';

/** Image `i` of `set` as a PNG; a one-channel image stays a gray PNG (sharp would widen it to sRGB). */
export async function imagePng(set: ImageSet, i: number): Promise<Buffer> {
  const per = imageBytes(set);
  const img = readChw(set.images, i * per, set.width, set.height, set.channels);
  const raw = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } });
  return (img.channels === 1 ? raw.toColourspace('b-w') : raw).png().toBuffer();
}
