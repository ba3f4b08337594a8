// Test images the browser demo offers to click, so the page shows the model at work before anyone finds an image
// of their own: the first few of each class from a dataset's test split, as PNG.
import { loadDataset } from '../data/load-dataset.ts';
import { imagePng } from '../data/png.ts';

/** One clickable sample: its true class and the PNG bytes. */
export interface DemoSample {
  readonly label: string;
  readonly png: Buffer;
}

/** The first `perClass` test images of each class of dataset `spec` (a name or directory, as --data takes). */
export async function demoSamples(spec: string, perClass = 2): Promise<DemoSample[]> {
  const { test } = await loadDataset(spec);
  const picked: number[] = [];
  const taken = new Int32Array(test.classes.length);
  for (let i = 0; i < test.n; i++) if (taken[test.labels[i]!]!++ < perClass) picked.push(i);
  picked.sort((a, b) => test.labels[a]! - test.labels[b]! || a - b);
  return Promise.all(picked.map(async (i) => ({ label: test.classes[test.labels[i]!]!, png: await imagePng(test, i) })));
}
