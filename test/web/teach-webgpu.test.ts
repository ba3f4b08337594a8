// The teach mode on WebGPU (chromium with SwiftShader as its adapter): the page's worker builds the training step on
// WebGPU, takes two steps of the whole micro model on two classes of noise images (then two of its head alone, on
// the encoder's output computed once), classifies with the result, and each downloaded checkpoint gives the page's
// logits in Node (`vitkit predict`, on the CPU). Short on purpose:
// SwiftShader runs WebGPU on the CPU (teach.test.ts checks the learning itself, on WebAssembly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vitkit } from '../cli/run.ts';
import { MICRO_GRAY, noiseImage, spawnVitkit } from '../serve/helpers.ts';
import { launchChromium, needsWebGPU } from './chromium.ts';

const PER_CLASS = 4;

test('teach on WebGPU: two steps in the page, then the downloaded checkpoint gives the page\'s logits in Node', needsWebGPU, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-teach-webgpu-'));
  const files = await Promise.all(Array.from({ length: 2 * PER_CLASS }, async (_, i) => {
    const path = join(dir, `${i < PER_CLASS ? 'a' : 'b'}-${i}.png`);
    writeFileSync(path, await noiseImage(i, 28, 28));
    return path;
  }));
  const { url } = await spawnVitkit(['web', '--checkpoint', MICRO_GRAY, '--port', '0']);
  const browser = await launchChromium({ webgpu: true });
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?device=webgpu`);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'ready', (await page.textContent('#status')) ?? '');
    assert.match((await page.textContent('#teach-base'))!, /on onnxruntime-web, WebGPU \(google swiftshader\)/);

    await page.click('#modes button[data-mode=teach]');
    const rows = page.locator('#classes .class');
    await rows.nth(0).locator('.class-files').setInputFiles(files.slice(0, PER_CLASS));
    await rows.nth(1).locator('.class-files').setInputFiles(files.slice(PER_CLASS));
    await page.waitForFunction(
      (n) => [...document.querySelectorAll<HTMLElement>('#classes .class')].every((r) => r.dataset.images === String(n)),
      PER_CLASS,
    );
    await page.fill('#teach-steps', '2');
    await page.fill('#teach-batch', '4');
    // the whole model, then the head alone without flip and crop (on the encoder's output computed once per image)
    for (const [k, [mode, augment]] of ([['full', true], ['head', false]] as const).entries()) {
      await page.selectOption('#teach-mode-select', mode);
      for (const box of ['#teach-flip', '#teach-crop']) await page.setChecked(box, augment);
      await page.click('#teach-start');
      await page.waitForSelector('body[data-teach=trained], body[data-teach=error]', { timeout: 300_000 });
      assert.equal(await page.getAttribute('body', 'data-teach'), 'trained', (await page.textContent('#teach-stats')) ?? '');
      const loss = JSON.parse((await page.getAttribute('#teach-chart', 'data-loss'))!) as number[];
      assert.equal(loss.length, 2);
      // a zero-initialised head for 2 classes starts at ln 2 exactly, whatever the device
      assert.ok(Math.abs(loss[0]! - Math.LN2) < 1e-5, `first loss ${loss[0]}`);

      const tries = [files[k]!, files[PER_CLASS + k]!]; // other files each time: the same ones again fire no change event
      await page.locator('#teach-try').setInputFiles(tries);
      await page.waitForFunction(
        (n) => document.querySelectorAll('#teach-results li').length === n && document.body.dataset.teach === 'trained',
        tries.length,
      );
      const shown = await page.$$eval('#teach-results li', (li) => li.map((l) => JSON.parse(l.dataset.logits!) as number[]));
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#teach-download')]);
      const taught = join(dir, `taught-${mode}.safetensors`);
      await download.saveAs(taught);
      const r = vitkit(['predict', ...tries, '--checkpoint', taught, '--json', '--logits', '--top', '1']);
      assert.equal(r.status, 0, r.stderr);
      const node = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { logits: number[] }).logits);
      // The weights trained on WebGPU, the forward pass on WebGPU (page) vs the CPU (Node): the same float32 graph
      // summed in another order, as the demo's WebGPU test bounds it (1e-4 of the logits' scale).
      shown.forEach((logits, i) => {
        const scale = Math.max(...logits.map(Math.abs));
        logits.forEach((v, j) =>
          assert.ok(Math.abs(v - node[i]![j]!) <= 1e-4 * scale + 1e-6, `image ${i} logit ${j}: page ${v}, node ${node[i]![j]}`),
        );
      });
      // trained: the head is no longer the zero it started as
      assert.ok(shown.flat().some((v) => Math.abs(v) > 1e-4), `logits ${JSON.stringify(shown)}`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
