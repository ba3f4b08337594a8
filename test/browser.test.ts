// vitkit/web must load in a browser: nothing it reaches, import by import, may come from `node:` or a package
// (onnxruntime-web is the page's own choice of engine, not an import). The one exception is type-only: the engine
// interface is typed with onnxruntime-common's, which leaves nothing in the JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as web from '../src/browser.ts';

const SRC = join(import.meta.dirname, '../src');

/** Every module reachable from `file` through value and type imports, with the specifiers it imports. */
function closure(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const text = readFileSync(file, 'utf8').replace(/(?:^|\n)import type [^;]*?from 'onnxruntime-common';/g, '');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => (m[1] ?? m[2])!);
  seen.set(file, specs);
  for (const s of specs) if (s.startsWith('.')) closure(join(dirname(file), s), seen);
  return seen;
}

test('the browser entry reaches no node: module and no package', () => {
  const modules = closure(join(SRC, 'browser.ts'));
  const outside = [...modules].flatMap(([file, specs]) => specs.filter((s) => !s.startsWith('.')).map((s) => `${relative(SRC, file)} imports ${s}`));
  assert.deepEqual(outside, []);
  assert.ok(modules.size > 15, `${modules.size} modules`);
});

test('it builds a model graph and its training step without Node', () => {
  const cfg = web.checkConfig({
    ...web.defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 3,
  });
  assert.ok(web.toOnnx(web.inferenceGraph(cfg, web.initParameters(cfg))).length > 1000);
  assert.ok(web.buildStepGraph(cfg, { optimizer: { kind: 'adamw', weightDecay: 0.05 }, batch: 2 }).graph);
});
