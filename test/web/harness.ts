// The training-step harness page (test/web/parity/), built with Vite and served cross-origin isolated (so
// onnxruntime-web gets its WebAssembly threads) with one case file: for the parity test and the browser benchmark.
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { StateDict } from '../../src/graph/tensor.ts';
import { encodeSafetensors } from '../../src/weights/safetensors-codec.ts';

const ROOT = join(import.meta.dirname, 'parity');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/** Builds the harness page (a fresh temporary folder each time). */
export async function buildHarness(): Promise<string> {
  const vite = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'vitkit-harness-'));
  await vite.build({
    configFile: join(import.meta.dirname, '../../web/vite.config.ts'),
    root: ROOT,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

/** Serves `dir` and `case.safetensors` (the tensors, and `meta` as JSON under the metadata key `case`). */
export async function serveHarness(dir: string, tensors: StateDict, meta: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const caseBytes = Buffer.concat(encodeSafetensors(tensors, { case: JSON.stringify(meta) }));
  const root = resolve(dir);
  const server = createServer((req, res) => {
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-embedder-policy', 'require-corp');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/case.safetensors') return void res.end(caseBytes);
    const file = resolve(root, `.${path === '/' ? '/index.html' : path}`);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}
