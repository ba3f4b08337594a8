import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage } from '../../src/data/decode.ts';
import { preprocess } from '../../src/data/preprocess.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { topK } from '../../src/inference/top-k.ts';
import { classifierRunner } from '../../src/serve/model-runner.ts';
import type { BatchRunner } from '../../src/serve/model-runner.ts';
import { startInferenceWorker } from '../../src/serve/worker-runner.ts';
import { MICRO, listen, metricValue, microClassifier, noiseImage, post } from './helpers.ts';

const { model, runner } = await microClassifier();

/** Wraps a runner to count runs and optionally hold them until released. */
function instrumented(inner: BatchRunner) {
  const sizes: number[] = [];
  let gate: Promise<void> | null = null;
  let open = (): void => {};
  const run: BatchRunner = async (images) => {
    sizes.push(images.length);
    if (gate) await gate;
    return inner(images);
  };
  return {
    run,
    sizes,
    hold: () => void (gate = new Promise<void>((r) => (open = r))),
    release: () => {
      gate = null;
      open();
    },
  };
}

/** What the model says about one image when run alone: the reference every batched reply must match. */
async function alone(bytes: Buffer) {
  const [out] = await runner([preprocess(await decodeImage(bytes), model.preprocess)]);
  return out!;
}

test('N concurrent requests run in fewer batches and each reply is its own image\'s answer', async () => {
  const inst = instrumented(runner);
  const { url } = await listen(model, inst.run, { maxBatch: 8, maxWaitMs: 200 });
  const images = await Promise.all(Array.from({ length: 24 }, (_, i) => noiseImage(i, 40 + i, 32, i % 2 ? 'jpeg' : 'png')));
  const replies = await Promise.all(images.map((b) => post(`${url}/v1/classify?top=3`, b, i2type(b))));
  assert.ok(inst.sizes.length <= 6, `24 requests took ${inst.sizes.length} runs (${inst.sizes})`);
  assert.ok(Math.max(...inst.sizes) <= 8);
  for (const [i, r] of replies.entries()) {
    assert.equal(r.status, 200);
    const expected = topK((await alone(images[i]!)).logits!, 3, model.labels);
    assert.deepEqual(r.json.top.map((p: { index: number }) => p.index), expected.map((p) => p.index), `image ${i}`);
    r.json.top.forEach((p: { prob: number; label: string }, j: number) => {
      assert.ok(Math.abs(p.prob - expected[j]!.prob) < 1e-5);
      assert.equal(p.label, expected[j]!.label);
    });
    assert.equal(r.json.model, 'hf');
    assert.equal(typeof r.json.ms, 'number');
  }
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.equal(metricValue(metrics, 'vitkit_batch_size_count'), inst.sizes.length);
  assert.equal(metricValue(metrics, 'vitkit_batch_size_sum'), 24);
  assert.match(metrics, /vitkit_requests_total\{route="\/v1\/classify",code="200"\} 24/);
  assert.equal(metricValue(metrics, 'vitkit_queue_depth'), 0);
});

/** A small-in-bytes, large-in-pixels JPEG: one grey. */
function flatImage(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080' } }).jpeg().toBuffer();
}

function i2type(b: Buffer): string {
  return b[0] === 0x89 ? 'image/png' : 'image/jpeg';
}

test('embed, multipart, model info and health', async () => {
  const { url } = await listen(model, runner);
  const img = await noiseImage(7, 64, 64);
  const e = await post(`${url}/v1/embed`, img, 'application/octet-stream');
  assert.equal(e.status, 200);
  assert.equal(e.json.dim, 64);
  const ref = (await alone(img)).pooled;
  e.json.embedding.forEach((v: number, i: number) => assert.ok(Math.abs(v - ref[i]!) < 1e-5));

  const form = new FormData();
  form.append('note', 'fields before the file are skipped');
  form.append('image', new Blob([new Uint8Array(img)], { type: 'image/png' }), 'x.png');
  const m = await fetch(`${url}/v1/classify`, { method: 'POST', body: form });
  assert.equal(m.status, 200);
  const top = ((await m.json()) as { top: { index: number }[] }).top;
  assert.equal(top.length, 5);
  assert.equal(top[0]!.index, topK(((await alone(img)).logits)!, 1, model.labels)[0]!.index);

  const info = (await (await fetch(`${url}/v1/model`)).json()) as { config: { numClasses: number }; labels: string[] };
  assert.equal(info.config.numClasses, 10);
  assert.equal(info.labels.length, 10);
  assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
});

test('bad input gets a 4xx JSON error naming the problem', async () => {
  const { url } = await listen(model, runner, { maxBodyBytes: 4096, maxPixels: 100 * 100 });
  const png = await noiseImage(1, 30, 30);
  const cases: [string, Promise<{ status: number; json: any }>, number, RegExp][] = [
    ['not an image', post(`${url}/v1/classify`, 'hello'), 400, /not a decodable image/],
    ['truncated', post(`${url}/v1/classify`, png.subarray(0, png.length >> 1)), 400, /corrupt or truncated/],
    ['too many pixels', post(`${url}/v1/classify`, await flatImage(200, 60), 'image/jpeg'), 400, /200x60, over the limit of 10000 pixels/],
    ['body too large', post(`${url}/v1/classify`, Buffer.alloc(5000)), 413, /body is too large/i],
    ['wrong content type', post(`${url}/v1/classify`, '{"a": 1}', 'application/json'), 415, /unsupported content type 'application\/json'/],
    ['unknown content type', post(`${url}/v1/classify`, 'x', 'text/html'), 415, /unsupported content type 'text\/html'/],
    ['empty body', post(`${url}/v1/classify`, new Uint8Array(0)), 400, /empty/],
    ['bad top', post(`${url}/v1/classify?top=11`, png), 400, /top=11 is invalid: pass an integer in 1\.\.10/],
    ['broken multipart', post(`${url}/v1/classify`, 'garbage', 'multipart/form-data; boundary=xx'), 400, /malformed multipart/],
  ];
  for (const [name, reply, status, message] of cases) {
    const r = await reply;
    assert.equal(r.status, status, name);
    assert.match(r.json.error, message, name);
  }
  const nf = await fetch(`${url}/v2/classify`);
  assert.equal(nf.status, 404);
  assert.equal((await post(`${url}/v1/classify`, png)).status, 200, 'still serving');
});

test('a full queue answers 503 with Retry-After, and a request past its deadline 503s too', async () => {
  const inst = instrumented(runner);
  const { url } = await listen(model, inst.run, { maxBatch: 1, maxWaitMs: 0, maxQueue: 2, timeoutMs: 5000 });
  const img = await noiseImage(3, 32, 32);
  inst.hold();
  const first = post(`${url}/v1/classify`, img);
  await waitForRuns(inst.sizes, 1);
  const queued = [post(`${url}/v1/classify`, img), post(`${url}/v1/classify`, img)];
  await waitForDepth(url, 2);
  const refused = await post(`${url}/v1/classify`, img);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.match(refused.json.error, /queue is full \(2 waiting requests\)/);
  inst.release();
  for (const r of await Promise.all([first, ...queued])) assert.equal(r.status, 200);

  const slow = instrumented(runner);
  const { url: url2 } = await listen(model, slow.run, { timeoutMs: 300 });
  slow.hold();
  const late = await post(`${url2}/v1/classify`, img);
  assert.equal(late.status, 503);
  assert.match(late.json.error, /no result within/);
  slow.release();
});

async function waitForRuns(sizes: number[], n: number): Promise<void> {
  while (sizes.length < n) await new Promise((r) => setTimeout(r, 5));
}

async function waitForDepth(url: string, n: number): Promise<void> {
  while (metricValue(await (await fetch(`${url}/metrics`)).text(), 'vitkit_queue_depth') < n) await new Promise((r) => setTimeout(r, 5));
}

test('the worker-thread runner (what vitkit serve uses) gives the in-thread outputs and model description', async () => {
  const worker = await startInferenceWorker(MICRO, { threads: 1 });
  try {
    const { path, format, config, precision, labels, preprocess: pre } = model;
    assert.deepEqual(worker.model, { path, format, config, precision, labels, preprocess: pre, device: 'cpu' });
    const images = await Promise.all([0, 1, 2].map(async (i) => preprocess(await decodeImage(await noiseImage(i, 30, 20)), model.preprocess)));
    const [inWorker, inThread] = await Promise.all([worker.runner(images), runner(images)]);
    inWorker.forEach((o, i) => {
      assert.ok(maxDiff(o.logits!, inThread[i]!.logits!) < 1e-5);
      assert.ok(maxDiff(o.pooled, inThread[i]!.pooled) < 1e-5);
    });
  } finally {
    await worker.close();
  }
  await assert.rejects(startInferenceWorker('/nonexistent.safetensors'), (e: Error) => e.name === 'UserError' && /does not exist/.test(e.message));
});

test('an int8 worker (vitkit serve --int8) answers with the int8 model\'s outputs', async () => {
  const int8 = loadModel(MICRO, { precision: 'int8' });
  const classifier = await Classifier.create(int8, { threads: 1, outputs: ['logits', 'pooled'] });
  const worker = await startInferenceWorker(MICRO, { threads: 1, load: { precision: 'int8' } });
  try {
    assert.equal(worker.model.precision, 'int8');
    const images = await Promise.all([0, 1].map(async (i) => preprocess(await decodeImage(await noiseImage(i, 30, 20)), model.preprocess)));
    const [inWorker, inThread, fp32] = await Promise.all([worker.runner(images), classifierRunner(classifier)(images), runner(images)]);
    inWorker.forEach((o, i) => {
      assert.ok(maxDiff(o.logits!, inThread[i]!.logits!) < 1e-5);
      assert.ok(maxDiff(o.logits!, fp32[i]!.logits!) > 0, 'int8 differs from float32');
    });
  } finally {
    await worker.close();
    await classifier.release();
  }
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}
