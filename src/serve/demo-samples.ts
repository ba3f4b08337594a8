// Test images the browser demo offers to click, so the page shows the model at work before anyone finds an image
// of their own: the first few of each class from a dataset's test split, as PNG.
import sharp from 'sharp';
import { loadDataset } from '../data/load-dataset.ts';
import { readChw } from '../data/raw-image.ts';

/** One clickable sample: its true class and the PNG bytes. */
export interface DemoSample {
  readonly label: string;
  readonly png: Buffer;
}

/** The first `perClass` test images of each class of dataset `spec` (a name or directory, as --data takes). */
export async function demoSamples(spec: string, perClass = 2): Promise<DemoSample[]> {
  const { test } = await loadDataset(spec);
  const per = test.channels * test.height * test.width;
  const picked: number[] = [];
  const taken = new Int32Array(test.classes.length);
  for (let i = 0; i < test.n; i++) if (taken[test.labels[i]!]!++ < perClass) picked.push(i);
  picked.sort((a, b) => test.labels[a]! - test.labels[b]! || a - b);
  return Promise.all(picked.map(async (i) => {
    const img = readChw(test.images, i * per, test.width, test.height, test.channels);
    const raw = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } });
    // sharp would widen one channel to sRGB; a gray image stays a gray PNG
    const png = await (img.channels === 1 ? raw.toColourspace('b-w') : raw).png().toBuffer();
    return { label: test.classes[test.labels[i]!]!, png };
  }));
}
