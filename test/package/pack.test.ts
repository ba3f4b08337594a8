// The published package as a user gets it: `npm pack`, installed into an empty project (from npm's cache, no
// network), then used there with plain Node, npx, tsc and `vitkit web` — none of which may see a .ts file, tsx
// or Vite.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tempDir, writeTinyIdx } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';

const ROOT = join(import.meta.dirname, '../..');
const MODEL = `${FIXTURES}micro_gray_p4_28`;
const IMAGE = `${MODEL}/img_0.png`;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: object; peerDependencies: object };
const tmp = tempDir('package');
const project = join(tmp, 'project');
// what the README tells users to set; npm may also skip the script on its own (allowScripts)
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${String(r.stdout)}\n${String(r.stderr)}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Newest modification time (ms) under `path`. */
function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((e) => newest(join(path, e))));
}

/** Builds dist/ unless a build newer than every input is there (`npm ci` builds it through `prepare`). */
function ensureBuilt(): void {
  const stamp = join(ROOT, 'dist/web/.built');
  const inputs = ['src', 'web', 'scripts/build.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...inputs.map((p) => newest(join(ROOT, p))))) return;
  run('npm', ['run', 'build'], { cwd: ROOT });
}

let files: string[] = [];
let tarballBytes = 0;
let installOutput = '';

before(() => {
  ensureBuilt();
  // --ignore-scripts: dist/ is fresh (above), so `prepare` need not build it a second time
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT });
  assert.doesNotMatch(packed.stderr, /npm warn/i);
  const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);
  tarballBytes = info!.size;
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, info!.filename)], { cwd: project });
  installOutput = installed.stdout + installed.stderr;
}, { timeout: 180_000 });

test('the tarball holds the compiled package, its data and the built page, and no sources or tests', () => {
  for (const f of [
    'bin/vitkit.js', 'dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'dist/cli/main.js',
    'dist/data/imagenet-classes.json', 'dist/data/imagenet-synsets.json', 'dist/data/batch-worker.js',
    'dist/serve/inference-worker.js', 'dist/export-run/train.py', 'dist/web/index.html', 'dist/web/.built', 'README.md',
    'package.json',
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepEqual(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  assert.deepEqual(files.filter((f) => /^(src|test|bench|web|scripts|examples)\//.test(f)), []);
  // most of it is the page's two onnxruntime-web binaries, of which a visit fetches one: WASM (3.7 MB gzipped) and
  // WebGPU (6.7 MB; docs/gpu.md)
  assert.ok(tarballBytes < 14e6, `tarball ${tarballBytes} bytes`);
  assert.equal(files.filter((f) => /^dist\/web\/assets\/ort-wasm-simd-threaded.*\.wasm$/.test(f)).length, 2, 'the WASM and the WebGPU build');
});

test('installing it says nothing about engines or unknown config', () => {
  assert.doesNotMatch(installOutput, /EBADENGINE|Unknown (project|user|env|cli) config/);
});

test('the shipped types name only packages a user gets', () => {
  const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies), 'vitkit']);
  const dts = files.filter((f) => f.endsWith('.d.ts')).map((f) => readFileSync(join(project, 'node_modules/vitkit', f), 'utf8'));
  const imported = dts.flatMap((src) => [...src.matchAll(/(?:from |import\()['"]([^'".][^'"]*)['"]/g)].map((m) => m[1]!));
  const bare = imported.filter((s) => !s.startsWith('node:')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
  assert.deepEqual([...new Set(bare)].filter((p) => !declared.has(p)), []);
});

test('plain Node imports the API (both entries) and classifies an image as the CLI does', () => {
  writeFileSync(join(project, 'classify.js'), `
import { Classifier, TrainSession, loadModel, preprocessFile, topK } from 'vitkit';
import { TrainSession as WebTrainSession, buildViT, preset } from 'vitkit/web';
const model = loadModel(process.argv[2]);
const classifier = await Classifier.create(model, { threads: 1 });
const image = await preprocessFile(process.argv[3], model.preprocess);
const { logits } = await classifier.run({ ...image, shape: [1, ...image.shape] });
console.log(JSON.stringify({ top: topK(logits.data, 5, model.labels), ` +
    `web: [typeof buildViT, preset('vit_tiny_patch16_224').depth, WebTrainSession === TrainSession] }));
`);
  const api = JSON.parse(run(process.execPath, ['classify.js', `${MODEL}/timm.safetensors`, IMAGE], { cwd: project }).stdout) as {
    top: unknown[];
    web: unknown[];
  };
  // one TrainSession for both entries: the engine is injected, the class is not forked
  assert.deepEqual(api.web, ['function', 12, true]);
  const npx = run('npx', ['--no-install', 'vitkit', 'predict', IMAGE, '--checkpoint', `${MODEL}/timm.safetensors`, '--json'], { cwd: project });
  assert.doesNotMatch(npx.stderr, /npm warn/i);
  assert.deepEqual((JSON.parse(npx.stdout) as { top: unknown[] }).top, api.top);
  assert.equal(api.top.length, 5);
});

test('a CommonJS project require()s both entries (Node 20.19+ loads ES modules without a top-level await)', () => {
  writeFileSync(join(project, 'classify.cjs'), `
const { Classifier, loadModel, topK } = require('vitkit');
const { buildViT, preset } = require('vitkit/web');
const model = loadModel(process.argv[2]);
console.log(JSON.stringify([typeof Classifier.create, typeof topK, typeof buildViT, preset('vit_tiny_patch16_224').depth, model.format]));
`);
  const out = run(process.execPath, ['classify.cjs', `${MODEL}/timm.safetensors`], { cwd: project });
  assert.deepEqual(JSON.parse(out.stdout), ['function', 'function', 'function', 12, 'timm']);
});

test('training runs its batch worker thread from the compiled package', () => {
  const data = join(tmp, 'idx');
  writeTinyIdx(data, { train: 16, test: 4, size: 8 });
  const args = ['--data', data, '--img-size', '8', '--patch', '4', '--dim', '16', '--depth', '1', '--heads', '2', '--mlp', '32'];
  const r = run(
    'npx',
    [
      '--no-install', 'vitkit', 'train', ...args, '--steps', '2', '--batch', '8', '--workers', '1', '--threads', '1',
      '--out', join(tmp, 'run'), '--json',
    ],
    { cwd: project },
  );
  assert.match(r.stdout, /"kind":"result","status":"done","step":2/);
});

test('a TypeScript consumer type-checks against the shipped .d.ts', () => {
  writeFileSync(join(project, 'consumer.ts'), `
import { type LoadedModel, type Prediction, Classifier, loadModel, nodeEngine, preprocessFile, topK } from 'vitkit';
import { type Engine, type OrtWeb, type ViTConfig, TrainSession, buildViT, preset, webEngine } from 'vitkit/web';
const model: LoadedModel = loadModel('model.safetensors');
const classifier = await Classifier.create(model, { threads: 1 });
const image = await preprocessFile('cat.jpg', model.preprocess);
const { logits } = await classifier.run({ ...image, shape: [1, ...image.shape] });
const top: Prediction[] = topK(logits!.data as Float32Array, 5, model.labels);
const cfg: ViTConfig = preset('vit_tiny_patch16_224');
console.log(top, cfg.depth, typeof buildViT);
// the engines a training session takes: Node's, or onnxruntime-web's module passed in by a page
const engines: Engine[] = [nodeEngine, webEngine({} as OrtWeb)];
const train = (e: Engine) => TrainSession.create(cfg, new Map(), { engine: e, batch: 8, optimizer: { kind: 'adamw' } });
console.log(engines.map(train).length);
`);
  // the repo's own @types/node: a consumer brings its own, the test has no network to fetch one
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  run(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', project]);
});

test('vitkit web serves the prebuilt page and the model, with no Vite installed', async () => {
  assert.equal(existsSync(join(project, 'node_modules/vite')), false);
  const child = spawn(join(project, 'node_modules/.bin/vitkit'), ['web', '--checkpoint', `${MODEL}/hf`, '--port', '0'], { cwd: project, env });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const grab = (d: Buffer): void => {
        out += String(d);
        const m = /open (http:\S+)/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout.on('data', grab);
      child.stderr.on('data', grab);
      child.once('exit', (code) => reject(new Error(`vitkit web exited (${code}): ${out}`)));
    });
    const html = await (await fetch(url)).text();
    const script = /<script type="module" crossorigin src="\.\/([^"]+)"/.exec(html);
    assert.ok(script, html);
    assert.equal((await fetch(`${url}/${script[1]}`)).status, 200);
    const manifest = (await (await fetch(`${url}/model.json`)).json()) as { labels: string[] };
    assert.equal(manifest.labels.length, 10);
    assert.ok((await (await fetch(`${url}/model.onnx`)).arrayBuffer()).byteLength > 1000);
  } finally {
    child.kill('SIGKILL');
  }
});
