// `vitkit web`: serves the browser demo with the model exported to ONNX, cross-origin isolated so onnxruntime-web
// can use WebAssembly threads. The published package ships the page prebuilt; from sources it is built from web/
// with Vite when its sources changed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { UserError } from '../errors.ts';
import { toOnnx } from '../graph/onnx.ts';
import type { LoadedModel } from '../inference/classifier.ts';
import { dequantizeWeights } from '../model/int8.ts';
import { inferenceGraph } from '../model/inference-graph.ts';
import { encodeVitkit, savedPreprocess } from '../weights/vitkit-format.ts';
import type { DemoManifest } from './demo-manifest.ts';
import type { DemoSample } from './demo-samples.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB_DIR = join(ROOT, 'web');
/**
 * Build output: a cache, like Vite's own node_modules/.vite, so the clone stays clean and rebuilds are cheap. Named
 * after the checkout: git worktrees that share one node_modules (a symlink) would otherwise serve each other's page.
 */
export const DEFAULT_DEMO_DIR = join(ROOT, 'node_modules', '.cache', 'vitkit', `web-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`);
/** The page built into the published package (dist/web, by scripts/build.ts); absent when running from sources. */
const PREBUILT_DIR = fileURLToPath(new URL('../web/', import.meta.url));
/** Written last by a build; its mtime is when the bundle was made. */
const STAMP = '.built';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Newest modification time (ms) among files under `dir`, skipping build output and dependencies. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether the bundle in `outDir` is older than the page, the shared src/ code, or the dependency lock. */
function isStale(outDir: string): boolean {
  const stamp = join(outDir, STAMP);
  if (!existsSync(stamp)) return true;
  const inputs = Math.max(newestMtime(WEB_DIR), newestMtime(join(ROOT, 'src')), statSync(join(ROOT, 'package-lock.json')).mtimeMs);
  return statSync(stamp).mtimeMs < inputs;
}

/**
 * Builds web/ into `outDir` with Vite unless an up-to-date build is there (or `force`). The build goes to a
 * sibling folder first and is renamed into place, so a concurrent `vitkit web` never serves half a bundle.
 * Returns whether it built.
 */
export async function buildDemo(outDir = DEFAULT_DEMO_DIR, opts: { force?: boolean } = {}): Promise<boolean> {
  if (!opts.force && !isStale(outDir)) return false;
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new UserError('the web demo is built with Vite, which is not installed: run `npm ci` in the vitkit checkout (with dev dependencies)');
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  await vite.build({ configFile: join(WEB_DIR, 'vite.config.ts'), root: WEB_DIR, logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
  writeFileSync(join(tmp, STAMP), '');
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return true;
}

/**
 * The folder holding the page: the package's prebuilt one, else a build of web/ (made when stale). Returns it
 * and whether it was built now.
 */
export async function demoPage(): Promise<{ dir: string; built: boolean }> {
  if (existsSync(join(PREBUILT_DIR, STAMP))) return { dir: PREBUILT_DIR, built: false };
  return { dir: DEFAULT_DEMO_DIR, built: await buildDemo(DEFAULT_DEMO_DIR) };
}

/**
 * The model as the demo runs it: logits and per-layer attention (for the rollout overlay), dynamic batch; and as
 * the teach mode starts from it, a float32 vitkit checkpoint (int8 weights dequantized: training runs in float32).
 */
export function demoModel(
  model: LoadedModel,
  samples: readonly DemoSample[] = [],
): { manifest: DemoManifest; onnx: Uint8Array; checkpoint: Uint8Array[] } {
  if (model.config.numClasses === 0) throw new UserError(`${model.path} has no classifier head: the demo shows class predictions`);
  const onnx = toOnnx(inferenceGraph(model.config, model.weights, ['logits', 'attention']));
  const name = basename(model.path, extname(model.path));
  const sampleList = samples.map((s, i) => ({ url: `samples/${i}.png`, label: s.label }));
  const checkpoint = encodeVitkit({
    config: model.config,
    weights: dequantizeWeights(model.config, model.weights),
    labels: model.labels,
    preprocess: savedPreprocess(model.preprocess),
  });
  return { manifest: { name, labels: model.labels, preprocess: model.preprocess, config: model.config, samples: sampleList }, onnx, checkpoint };
}

/**
 * A server (not yet listening) for the built page in `demoDir`, model.json, model.onnx, model.safetensors and the
 * sample images.
 * Every response is cross-origin isolated (COOP + COEP), which browsers require before they give WebAssembly
 * shared memory (threads).
 */
export function createDemoServer(model: LoadedModel, demoDir = DEFAULT_DEMO_DIR, samples: readonly DemoSample[] = []): FastifyInstance {
  const { manifest, onnx, checkpoint } = demoModel(model, samples);
  const onnxBytes = Buffer.from(onnx.buffer, onnx.byteOffset, onnx.byteLength);
  const checkpointBytes = Buffer.concat(checkpoint);
  const root = resolve(demoDir);
  const app = Fastify({ logger: false });
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.headers({
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-cache',
    });
    return payload;
  });
  app.get('/model.json', async () => manifest);
  app.get('/model.onnx', async (_req, reply) => reply.type('application/octet-stream').send(onnxBytes));
  app.get('/model.safetensors', async (_req, reply) => reply.type('application/octet-stream').send(checkpointBytes));
  app.get('/samples/:file', async (req, reply) => {
    const sample = samples[Number(/^(\d+)\.png$/.exec((req.params as { file: string }).file)?.[1] ?? NaN)];
    return sample ? reply.type('image/png').send(sample.png) : reply.code(404).send({ error: `no sample ${req.url}` });
  });
  app.get('/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'] || 'index.html';
    const file = resolve(root, rel);
    // resolve() collapses '..', so anything outside the build folder is refused rather than read
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      return reply.code(404).send({ error: `no file ${req.url}` });
    }
    return reply.type(CONTENT_TYPES[extname(file)] ?? 'application/octet-stream').send(readFileSync(file));
  });
  return app;
}
