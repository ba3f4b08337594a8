// The test images `vitkit web` offers to click: picked per class from a dataset's test split, served as PNG and
// listed in model.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadModel } from '../../src/inference/classifier.ts';
import { demoSamples } from '../../src/serve/demo-samples.ts';
import { createDemoServer } from '../../src/serve/web-demo.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir, writeTinyIdx } from '../data/helpers.ts';
import { MICRO_GRAY } from './helpers.ts';

const data = join(tempDir('demo-samples'), 'idx');
writeTinyIdx(data, { train: 4, test: 10, size: 8 });

test('two test images per class, in class order, as PNGs of the dataset size', async () => {
  const samples = await demoSamples(data);
  assert.deepEqual(samples.map((s) => s.label), ['0', '0', '1', '1']);
  const meta = await sharp(samples[0]!.png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 8, 8, 1]);
});

test('the demo server lists the samples in model.json and serves each one', async () => {
  const samples = await demoSamples(data, 1);
  const app = createDemoServer(loadModel(MICRO_GRAY), tempDir('demo-page'), samples);
  try {
    const manifest = (await app.inject({ url: '/model.json' })).json() as { samples: { url: string; label: string }[] };
    assert.deepEqual(manifest.samples, [{ url: 'samples/0.png', label: '0' }, { url: 'samples/1.png', label: '1' }]);
    const png = await app.inject({ url: '/samples/1.png' });
    assert.equal(png.statusCode, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.deepEqual(png.rawPayload, samples[1]!.png);
    assert.equal((await app.inject({ url: '/samples/2.png' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/samples/x.png' })).statusCode, 404);
  } finally {
    await app.close();
  }
});

test("vitkit web without --checkpoint opens npm start's model with Fashion-MNIST samples, or says to train it", async () => {
  const cwd = tempDir('web-default');
  const bin = join(import.meta.dirname, '../../bin/vitkit.js');
  const none = spawnSync(process.execPath, [bin, 'web', '--port', '0'], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^vitkit: web: pass --checkpoint PATH, or train runs\/fashion-mnist\/best\.safetensors first with `npm start`/);
  const gray = loadModel(MICRO_GRAY);
  mkdirSync(join(cwd, 'runs/fashion-mnist'), { recursive: true });
  saveCheckpoint(join(cwd, 'runs/fashion-mnist/best.safetensors'), { config: gray.config, weights: gray.weights }, 'vitkit');
  const child = spawn(process.execPath, [bin, 'web', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /open (http:\/\/[\d.:]+)/.exec(String(d));
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`vitkit web exited with ${code}`)));
    });
    const manifest = (await (await fetch(`${url}/model.json`)).json()) as { name: string; samples: { label: string }[] };
    assert.equal(manifest.name, 'best');
    assert.equal(manifest.samples.length, 20, 'two test images for each of the 10 classes');
    assert.equal(manifest.samples[0]!.label, 'T-shirt/top');
  } finally {
    child.kill();
  }
});
