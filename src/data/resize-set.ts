// An in-memory ImageSet at another resolution or channel count, so IDX / CIFAR / npm datasets (stored at their
// native size) can be trained or fine-tuned at any --img-size, and grayscale sets fed to RGB checkpoints.
// Bicubic as PIL (src/data/resample.ts), the filter timm's transforms use. Pure maths, no `node:` imports.
import { UserError } from '../errors.ts';
import { type ImageSet, imageBytes, imageSet } from './image-set.ts';
import { resample } from './resample.ts';
import { type Channels, readChw, toChannels, writeChw } from './raw-image.ts';

/**
 * Every image resized to size×size (bicubic, antialiased when shrinking) and converted to `channels` (PIL's
 * convert('L'/'RGB')). Returns the set itself when nothing changes. Non-square images are an error: a dataset of
 * them should come from an ImageFolder, whose loader crops.
 */
export function resizeImageSet(set: ImageSet, size: number, channels: Channels = set.channels): ImageSet {
  if (size === set.height && size === set.width && channels === set.channels) return set;
  if (!(Number.isInteger(size) && size > 0)) throw new UserError(`image size ${size} is invalid: pass a positive integer`);
  if (set.height !== set.width) {
    throw new UserError(
      `${set.name}: images are ${set.width}×${set.height}; only square images are resized here: load them as an ImageFolder with --img-size`,
    );
  }
  const per = imageBytes(set);
  const out = new Uint8Array(set.n * channels * size * size);
  for (let i = 0; i < set.n; i++) {
    const image = toChannels(readChw(set.images, i * per, set.width, set.height, set.channels), channels);
    writeChw(resample(image, size, size, 'bicubic'), out, i * channels * size * size);
  }
  return imageSet({ ...set, images: out, channels, height: size, width: size });
}
