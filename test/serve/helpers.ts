// Shared by the server tests: the micro model, synthetic images, and servers on loopback.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { Classifier, type LoadedModel, loadModel } from '../../src/inference/classifier.ts';
import { Rng } from '../../src/rng.ts';
import { type BatchRunner, classifierRunner } from '../../src/serve/model-runner.ts';
import { type ServeLimits, createServer } from '../../src/serve/server.ts';
import { VITKIT_ARGV } from '../cli/run.ts';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures');
/** The micro ViT (224 px RGB, 10 classes) in Hugging Face layout, with its own preprocessing config. */
export const MICRO = join(FIXTURES, 'micro_p16_224/hf');
/** A smaller one (28 px grayscale): for tests that spend their time on HTTP, not on the model. */
export const MICRO_GRAY = join(FIXTURES, 'micro_gray_p4_28/hf');

/** A seeded noise image of the given size, encoded as PNG or JPEG. */
export async function noiseImage(seed: number, width: number, height: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const rng = new Rng(seed);
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(256);
  return sharp(px, { raw: { width, height, channels: 3 } })[format]().toBuffer();
}

/** The micro model with a session (outputs logits and pooled, as `vitkit serve` creates it), closed after the file. */
export async function microClassifier(): Promise<{ model: LoadedModel; classifier: Classifier; runner: BatchRunner }> {
  const model = loadModel(MICRO);
  const classifier = await Classifier.create(model, { threads: 1, outputs: ['logits', 'pooled'] });
  after(() => classifier.release());
  return { model, classifier, runner: classifierRunner(classifier) };
}

/** An in-process server on a free loopback port; closed when the test file ends. */
export async function listen(
  model: LoadedModel,
  runner: BatchRunner,
  limits: Partial<ServeLimits> = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createServer({ model, runner, limits });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  after(() => app.close());
  return { app, url };
}

/** POSTs bytes with a content type; returns the status, headers and parsed JSON body. */
export async function post(
  url: string,
  body: Uint8Array | string,
  contentType = 'image/png',
): Promise<{ status: number; headers: Headers; json: any }> {
  // a copy: fetch's types take only ArrayBuffer-backed views, Buffers may sit on a shared pool
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': contentType },
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

/**
 * A vitkit command (serve, web) in a child process on a free port (give `--port 0`); resolves with the address
 * it prints. Killed when the test file ends.
 */
export async function spawnVitkit(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...VITKIT_ARGV, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /(http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`vitkit ${args[0]} exited (${code}) before listening:\n${out}`)));
  });
  return { child, url, output: () => out };
}

/** Waits until `cond` holds, polling; throws after `ms`. */
export async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of an unlabelled metric line (e.g. vitkit_queue_depth) in a Prometheus text page. */
export function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.slice(name.length + 1));
}
