// Builds the published package into dist/: the library and CLI as JavaScript with .d.ts (tsc), the JSON data the
// code reads at run time, and the browser demo built with Vite (so an installed vitkit needs no Vite).
// Run by `npm run build`, and by `prepare`, so `npm ci` in a clone and `npm pack` both build it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildDemo } from '../src/serve/web-demo.ts';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// tsc emits only modules; these lists are read through createRequire (src/inference/classifier.ts, src/eval/evaluate.ts)
for (const list of ['imagenet-classes.json', 'imagenet-synsets.json']) copyFileSync(join(root, 'src/data', list), join(dist, 'data', list));
// export-run copies its PyTorch training loop into every exported folder (src/export-run/export-run.ts)
copyFileSync(join(root, 'src/export-run/train.py'), join(dist, 'export-run', 'train.py'));
await buildDemo(join(dist, 'web'), { force: true });
