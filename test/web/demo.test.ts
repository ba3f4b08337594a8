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
import { launchChromium, needsChromium, needsWebGPU } from './chromium.ts';

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
    assert.equal(await page.getAttribute('body', 'data-device'), 'cpu', 'a browser without a GPU: WebAssembly');

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

/**
 * Where the browser has a WebGPU adapter (here SwiftShader's), the page takes it for classify and teach alike, and
 * names it; `?device=wasm` forces WebAssembly. The top 5 must be Node's: WebGPU runs the same float32 graph (no
 * fp16 anywhere: SwiftShader's adapter has no shader-f16, and onnxruntime keeps float32 models in float32), only
 * summing in another order (a whole Ti/16 export's logits came within 1.5e-5 of CPU's, at a scale of 12, on
 * SwiftShader), so the bound the WebAssembly test holds probabilities to, 1e-4, holds here too.
 * (What the 1.6e-2 seen on a Ti/16 export was: docs/gpu.md.)
 */
test('the demo runs on WebGPU where the browser has an adapter, names it, and classifies as Node does', needsWebGPU, async () => {
  const expected = await nodeTop5();
  const { url } = await spawnVitkit(['web', '--checkpoint', MICRO, '--port', '0']);
  const browser = await launchChromium({ webgpu: true });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'ready', (await page.textContent('#status')) ?? '');
    assert.equal(await page.getAttribute('body', 'data-device'), 'webgpu');
    assert.match((await page.textContent('#status'))!, /onnxruntime-web WebGPU \(google swiftshader\)/);
    assert.match((await page.textContent('#teach-base'))!, /on onnxruntime-web, WebGPU \(google swiftshader\)/);

    await page.setInputFiles('#file', IMAGE);
    await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', (await page.textContent('#status')) ?? '');
    const shown = await page.$$eval('#predictions li', (rows) => rows.map((r) => ({ index: Number(r.dataset.index), prob: Number(r.dataset.prob) })));
    assert.deepEqual(shown.map((p) => p.index), expected.map((p) => p.index));
    shown.forEach((p, i) => assert.ok(Math.abs(p.prob - expected[i]!.prob) < 1e-4, `prob ${i}: ${p.prob} vs ${expected[i]!.prob}`));
    assert.match((await page.textContent('#timing'))!, /\(WebGPU \(google swiftshader\)\)/);

    await page.goto(`${url}?device=wasm`);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-device'), 'cpu');
    assert.match((await page.textContent('#status'))!, /WASM SIMD, \d+ thread/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('?device=webgpu in a browser without WebGPU says so on the page; an unknown device is named', needsChromium, async () => {
  const { url } = await spawnVitkit(['web', '--checkpoint', MICRO, '--port', '0']);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    for (const [query, message] of [
      ['webgpu', /\?device=webgpu: this browser gives no WebGPU adapter \(try \?device=wasm\)/],
      ['gpu', /unknown \?device=gpu \(expected webgpu or wasm\)/],
    ] as const) {
      await page.goto(`${url}?device=${query}`);
      await page.waitForSelector('body[data-state=error]', { timeout: 60_000 });
      assert.match((await page.textContent('#status'))!, message);
    }
  } finally {
    await browser.close();
  }
});
