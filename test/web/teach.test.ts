// End to end: the teach mode of `vitkit web` in Debian's chromium. A Fashion-MNIST model (pretrained here for a
// few seconds, as CI has no `npm start` run) is taught two classes from 20 images each through the file pickers;
// the loss must fall, held-out images of both classes must come out above 90% right, the downloaded checkpoint must
// give the page's logits in Node (`vitkit predict`), and no request may leave the page once it has loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Batches } from '../../src/data/batches.ts';
import type { ImageSet } from '../../src/data/image-set.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { TrainSession } from '../../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../../src/train/recipe.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { vitkit } from '../cli/run.ts';
import { spawnVitkit } from '../serve/helpers.ts';
import { launchChromium, needsChromium } from './chromium.ts';

const CLASSES = ['Trouser', 'Bag'];
const PER_CLASS = 20;
const HELD_OUT = 25;
/** Where the screenshots go: $VITKIT_SCREENSHOTS (to refresh the README's), else a temporary folder. */
const SHOTS = process.env.VITKIT_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'vitkit-teach-shots-'));

/** The `npm start` architecture trained for 150 steps on all of Fashion-MNIST: a base with features worth keeping. */
async function pretrainedBase(dir: string, train: ImageSet): Promise<string> {
  const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
  const session = await TrainSession.create(config, initParameters(config, { seed: 0 }), {
    engine: nodeEngine, batch: 64, optimizer: { kind: 'adamw', weightDecay: 0.05 }, clipNorm: 1,
  });
  const batches = new Batches(train, { batchSize: 64, mean: [0.5], std: [0.5] });
  for (let i = 0; i < 150; i++) {
    const b = batches.next();
    await session.step(b.x.data, b.y.data, 2e-3 * Math.min(1, (i + 1) / 20));
  }
  const path = join(dir, 'fashion-base.safetensors');
  const preprocess = { mean: [0.5], std: [0.5], imgSize: 28, cropPct: 1, resize: 'shorter-crop' as const };
  saveCheckpoint(path, { config, weights: session.parameters(), labels: train.classes, preprocess }, 'vitkit');
  await session.release();
  return path;
}

/** The first `n` images of class `name` from index `skip` on, as PNG files in `dir`. */
async function writePngs(set: ImageSet, name: string, skip: number, n: number, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const label = set.classes.indexOf(name);
  const picked = [...set.labels.keys()].filter((i) => set.labels[i] === label).slice(skip, skip + n);
  const px = set.height * set.width;
  return Promise.all(picked.map(async (i, j) => {
    const path = join(dir, `${name.replace(/\W/g, '')}-${j}.png`);
    await sharp(Buffer.from(set.images.subarray(i * px, (i + 1) * px)), { raw: { width: set.width, height: set.height, channels: 1 } })
      .toColourspace('b-w').png().toFile(path);
    return path;
  }));
}

test('teach: two Fashion-MNIST classes × 20 images in the page, held out > 90%, checkpoint back to Node, no network', needsChromium, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-teach-'));
  const { train, test: heldOut } = await loadDataset('fashion-mnist');
  const base = await pretrainedBase(dir, train);
  const trainFiles = await Promise.all(CLASSES.map((c) => writePngs(train, c, 0, PER_CLASS, join(dir, 'train'))));
  const testFiles = (await Promise.all(CLASSES.map((c) => writePngs(heldOut, c, 0, HELD_OUT, join(dir, 'test'))))).flat();

  const { url } = await spawnVitkit(['web', '--checkpoint', base, '--port', '0']);
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 820, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'ready', (await page.textContent('#status')) ?? '');
    assert.equal(await page.getAttribute('body', 'data-teach'), 'idle', (await page.textContent('#teach-stats')) ?? '');
    // from here on, nothing may be fetched: not the images, not the weights, nothing (the worker's requests count too)
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    assert.match((await page.textContent('#teach-base'))!, /onnxruntime-web, WASM SIMD, 2 threads/);

    await page.click('#modes button[data-mode=teach]');
    const rows = page.locator('#classes .class');
    for (const [k, name] of CLASSES.entries()) {
      await rows.nth(k).locator('.class-name').fill(name);
      await rows.nth(k).locator('.class-files').setInputFiles(trainFiles[k]!);
    }
    await page.waitForFunction(
      (n) => [...document.querySelectorAll<HTMLElement>('#classes .class')].every((r) => r.dataset.images === String(n)),
      PER_CLASS,
    );
    await page.fill('#teach-steps', '20');
    await page.fill('#teach-batch', '16');
    await page.selectOption('#teach-mode-select', 'full');
    const t0 = Date.now();
    await page.click('#teach-start');
    await page.waitForFunction(() => Number(document.getElementById('teach-stats')!.dataset.step) >= 8, undefined, { timeout: 120_000 });
    await page.screenshot({ path: join(SHOTS, 'teach-mid-run.png'), fullPage: true });
    await page.waitForSelector('body[data-teach=trained], body[data-teach=error]', { timeout: 120_000 });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(await page.getAttribute('body', 'data-teach'), 'trained', (await page.textContent('#teach-stats')) ?? '');
    const loss = JSON.parse((await page.getAttribute('#teach-chart', 'data-loss'))!) as number[];
    assert.equal(loss.length, 20);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(loss.slice(-5)) < 0.5 * mean(loss.slice(0, 5)), `loss ${loss.map((l) => l.toFixed(3)).join(' ')}`);
    const imagesPerSec = Number(await page.getAttribute('#teach-stats', 'data-images-per-sec'));
    console.log(
      `# teach run: 40 images × 20 steps (batch 16, whole model) in ${seconds.toFixed(1)} s from the click, ` +
        `${imagesPerSec.toFixed(0)} images/s in the page`,
    );

    await page.locator('#teach-try').setInputFiles(testFiles);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#teach-results li').length === n && document.body.dataset.teach === 'trained',
      testFiles.length,
    );
    await page.screenshot({ path: join(SHOTS, 'teach-after.png'), fullPage: true });
    const shown = await page.$$eval('#teach-results li', (li) =>
      li.map((l) => ({ file: l.dataset.file!, label: l.dataset.label!, logits: JSON.parse(l.dataset.logits!) as number[] })),
    );
    const right = shown.filter((s) => s.file.startsWith(s.label.replace(/\W/g, ''))).length;
    assert.ok(right / shown.length > 0.9, `${right} of ${shown.length} held-out images right`);
    console.log(`# held out: ${right} of ${shown.length} right`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#teach-download')]);
    const taught = join(dir, 'taught.safetensors');
    await download.saveAs(taught);
    assert.ok(statSync(taught).size > 1_000_000);
    // Node's predict on the same files: the same classes, the page's logits
    const r = vitkit(['predict', ...testFiles, '--checkpoint', taught, '--json', '--logits', '--top', '1']);
    assert.equal(r.status, 0, r.stderr);
    const node = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { top: { label: string }[]; logits: number[] });
    shown.forEach((s, i) => {
      assert.equal(node[i]!.top[0]!.label, s.label, s.file);
      const scale = Math.max(...s.logits.map(Math.abs));
      s.logits.forEach((v, j) =>
        assert.ok(Math.abs(v - node[i]!.logits[j]!) <= 1e-4 * scale + 1e-6, `${s.file} logit ${j}: page ${v}, node ${node[i]!.logits[j]}`),
      );
    });

    // "what to train": LoRA adapters in the page, and the last 2 blocks without flip and crop (so on the frozen
    // block's output computed once per image); each download is a plain model (adapters merged), and Node's predict
    // gives the page's logits
    for (const [k, [mode, augment]] of ([['lora:8', true], ['last:2', false]] as const).entries()) {
      const files = testFiles.slice(4 * k, 4 * k + 4); // other files each time: the same ones again fire no change event
      await page.selectOption('#teach-mode-select', mode);
      for (const box of ['#teach-flip', '#teach-crop']) await page.setChecked(box, augment);
      await page.fill('#teach-steps', '10');
      await page.click('#teach-start');
      await page.waitForSelector('body[data-teach=trained], body[data-teach=error]', { timeout: 120_000 });
      assert.equal(await page.getAttribute('body', 'data-teach'), 'trained', (await page.textContent('#teach-stats')) ?? '');
      await page.locator('#teach-try').setInputFiles(files);
      await page.waitForFunction(() => document.querySelectorAll('#teach-results li').length === 4 && document.body.dataset.teach === 'trained');
      const modeShown = await page.$$eval('#teach-results li', (li) => li.map((l) => JSON.parse(l.dataset.logits!) as number[]));
      const [modeDownload] = await Promise.all([page.waitForEvent('download'), page.click('#teach-download')]);
      const saved = join(dir, `taught-${mode.replace(':', '')}.safetensors`);
      await modeDownload.saveAs(saved);
      const pr = vitkit(['predict', ...files, '--checkpoint', saved, '--json', '--logits', '--top', '1']);
      assert.equal(pr.status, 0, pr.stderr);
      pr.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { logits: number[] }).logits).forEach((logits, i) => {
        const scale = Math.max(...modeShown[i]!.map(Math.abs));
        logits.forEach((v, j) =>
          assert.ok(Math.abs(v - modeShown[i]![j]!) <= 1e-4 * scale + 1e-6, `${mode} logit ${j} of image ${i}: page ${modeShown[i]![j]}, node ${v}`),
        );
      });
    }
    for (const box of ['#teach-flip', '#teach-crop']) await page.setChecked(box, true);
    await page.selectOption('#teach-mode-select', 'full');

    // Stop ends a long run between two steps, and the page keeps what was trained so far
    await page.fill('#teach-steps', '500');
    await page.click('#teach-start');
    await page.waitForFunction(() => Number(document.getElementById('teach-stats')!.dataset.step) >= 2, undefined, { timeout: 60_000 });
    await page.click('#teach-stop');
    await page.waitForSelector('body[data-teach=trained], body[data-teach=error]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('#teach-stats', 'data-stopped'), 'true');
    assert.ok(Number(await page.getAttribute('#teach-stats', 'data-step')) < 100);

    // a checkpoint Node wrote loads in the page as a new starting point
    await page.locator('#teach-checkpoint').setInputFiles(base);
    await page.waitForFunction(
      () => document.body.dataset.teach === 'idle' && document.getElementById('teach-base')!.textContent!.startsWith('fashion-base.safetensors'),
    );

    // a download is a blob: URL the page made itself; anything else after load would be a request off the page
    assert.deepEqual(requests.filter((u) => !u.startsWith('blob:')), []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
