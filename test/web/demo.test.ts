// End to end: `vitkit web` serves the demo, Debian's chromium (driven by playwright-core) uploads an image, and
// the page's top 5 must equal what Node computes for the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '../../src/data/decode.ts';
import { preprocess } from '../../src/data/preprocess.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { topK } from '../../src/inference/top-k.ts';
import { stackImages } from '../../src/serve/model-runner.ts';
import { writeTinyIdx } from '../data/helpers.ts';
import { MICRO, spawnVitkit } from '../serve/helpers.ts';
import { launchChromium, needsChromium } from './chromium.ts';

const IMAGE = join(import.meta.dirname, '../../../shared/fixtures/preprocess/photo_320x240.png');
/** Where the screenshot goes: $VITKIT_SCREENSHOT (to refresh the README's), else a temporary folder. */
const SCREENSHOT = process.env.VITKIT_SCREENSHOT ?? join(mkdtempSync(join(tmpdir(), 'vitkit-web-')), 'demo.png');

/** What Node says about the image: the reference the browser must reproduce. */
async function nodeTop5(): Promise<{ index: number; prob: number }[]> {
  const model = loadModel(MICRO);
  const classifier = await Classifier.create(model, { threads: 1, outputs: ['logits'] });
  const { logits } = await classifier.run(stackImages([preprocess(await decodeImage(IMAGE), model.preprocess)]));
  await classifier.release();
  return topK(logits!.data as Float32Array, 5, model.labels);
}

test('the demo classifies an uploaded image as Node does, with threads, the overlay and a timing', needsChromium, async () => {
  const expected = await nodeTop5();
  const samples = join(mkdtempSync(join(tmpdir(), 'vitkit-web-samples-')), 'idx');
  writeTinyIdx(samples, { train: 2, test: 4, size: 8 });
  const { url } = await spawnVitkit(['web', '--checkpoint', MICRO, '--samples', samples, '--port', '0']);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 800, height: 560 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'ready', await page.textContent('#status') ?? '');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
    assert.match((await page.textContent('#status'))!, /WASM SIMD, \d+ thread/);

    await page.setInputFiles('#file', IMAGE);
    await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', await page.textContent('#status') ?? '');
    const shown = await page.$$eval('#predictions li', (rows) => rows.map((r) => ({ index: Number(r.dataset.index), prob: Number(r.dataset.prob) })));
    assert.deepEqual(shown.map((p) => p.index), expected.map((p) => p.index));
    shown.forEach((p, i) => assert.ok(Math.abs(p.prob - expected[i]!.prob) < 1e-4, `prob ${i}: ${p.prob} vs ${expected[i]!.prob}`));
    assert.ok(Number(await page.getAttribute('#timing', 'data-ms')) > 0);

    // the overlay changes the picture; unchecking it redraws the plain image
    const pixels = () => page.$eval('#view', (c) => (c as HTMLCanvasElement).toDataURL());
    const withOverlay = await pixels();
    await page.uncheck('#overlay');
    assert.notEqual(await pixels(), withOverlay);
    await page.check('#overlay');

    // a sample image from --samples classifies with a click
    await page.evaluate(() => void (document.body.dataset.state = 'ready')); // so 'done' below is this image's
    await page.click('#sample-list button[data-label="1"]');
    await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', await page.textContent('#status') ?? '');
    assert.equal(await page.$$eval('#sample-list button', (b) => b.length), 4);

    await page.screenshot({ path: SCREENSHOT });
    assert.ok(statSync(SCREENSHOT).size > 10_000);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
