// The same TrainSession on two engines: 3 training steps of the `npm start` model (0.41M parameters; AdamW with
// weight decay, clipping and label smoothing, as it trains) from the same weights and batch, in chromium on
// onnxruntime-web and in Node on onnxruntime-node. Every parameter and optimizer state must agree within 1e-4 of
// that tensor's scale (its largest magnitude) after each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateDict } from '../../src/graph/tensor.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { TrainSession } from '../../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../../src/train/recipe.ts';
import { decodeSafetensors } from '../../src/weights/safetensors-codec.ts';
import { launchChromium, needsChromium } from './chromium.ts';
import { buildHarness, serveHarness } from './harness.ts';

const BATCH = 8;
const LRS = [1.5e-3, 1.5e-3, 1.5e-3];

test('3 training steps on onnxruntime-web in chromium equal onnxruntime-node\'s within 1e-4 of each tensor\'s scale', needsChromium, async () => {
  const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
  const options = { batch: BATCH, optimizer: { kind: 'adamw' as const, weightDecay: 0.05 }, clipNorm: 1, labelSmoothing: 0.1 };
  const params = initParameters(config, { seed: 3 });
  const rng = new Rng(7);
  const images = Float32Array.from({ length: BATCH * 28 * 28 }, () => rng.normal());
  const labels = BigInt64Array.from({ length: BATCH }, (_, i) => BigInt((3 * i) % 10));

  const node = await TrainSession.create(config, params, { ...options, engine: nodeEngine });
  const expected: StateDict[] = [];
  for (const lr of LRS) {
    await node.step(images, labels, lr);
    expected.push(node.state());
  }
  await node.release();

  const server = await serveHarness(await buildHarness(), new Map([
    ...params,
    ['images', { dtype: 'float32', shape: [BATCH, 1, 28, 28], data: images }],
    ['labels', { dtype: 'int64', shape: [BATCH], data: labels }],
  ]), { config, options, lrs: LRS });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-state=ready]', { timeout: 60_000 });
    const got = await page.evaluate(() => (window as unknown as { runCase: () => Promise<{ states: string[]; threads: number }> }).runCase());
    assert.equal(got.threads, 2, 'the harness is cross-origin isolated: WebAssembly threads');
    assert.equal(got.states.length, LRS.length);
    got.states.forEach((b64, step) => {
      const web = decodeSafetensors(Buffer.from(b64, 'base64')).tensors;
      assert.deepEqual([...web.keys()].sort(), [...expected[step]!.keys()].sort());
      for (const [name, ref] of expected[step]!) {
        if (ref.dtype === 'int64') {
          assert.deepEqual(web.get(name)!.data, ref.data, name);
          continue;
        }
        const a = web.get(name)!.data as Float32Array;
        const b = ref.data as Float32Array;
        let scale = 0;
        let worst = 0;
        for (let i = 0; i < b.length; i++) {
          scale = Math.max(scale, Math.abs(b[i]!));
          worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        }
        assert.ok(worst <= 1e-4 * scale, `step ${step + 1}, ${name}: max |web − node| = ${worst.toExponential(2)}, scale ${scale.toExponential(2)}`);
      }
    });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
