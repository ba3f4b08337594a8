// Browser tests find chromium on PATH under any of its usual names, and in CI a missing browser fails them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../data/helpers.ts';
import { chromiumSkip, findChromium } from './chromium.ts';

function fakeBrowser(dir: string, name: string, mode = 0o755): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, mode);
  return file;
}

test('findChromium looks through PATH for chromium, chromium-browser and google-chrome, in that order', () => {
  const root = tempDir('chromium-path');
  const [a, b, c] = ['a', 'b', 'c'].map((d) => join(root, d)) as [string, string, string];
  const chrome = fakeBrowser(a, 'google-chrome');
  assert.equal(findChromium([a, b].join(delimiter)), chrome);
  const browser = fakeBrowser(b, 'chromium-browser');
  assert.equal(findChromium([a, b].join(delimiter)), browser, 'chromium-browser before google-chrome');
  fakeBrowser(c, 'chromium', 0o644); // not executable: not a browser
  assert.equal(findChromium([c, b].join(delimiter)), browser);
  mkdirSync(join(c, 'chromium-browser')); // a directory: not a browser either
  assert.equal(findChromium(c), undefined);
  assert.equal(findChromium(''), undefined);
});

test('without a browser the tests skip outside CI and run (and fail) in CI', () => {
  assert.equal(chromiumSkip('/usr/bin/chromium', false), false);
  assert.equal(chromiumSkip('/usr/bin/chromium', true), false);
  assert.equal(chromiumSkip(undefined, true), false);
  assert.match(chromiumSkip(undefined, false) as string, /no chromium on PATH .*apt-get install -y chromium/);
});

test('in CI with no browser on PATH, a browser test runs and fails saying what is missing', () => {
  const script = `const m = await import(${JSON.stringify(join(import.meta.dirname, 'chromium.ts'))});
console.log(JSON.stringify(m.needsChromium)); await m.launchChromium();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '', CI: 'true' },
  });
  assert.equal(r.stdout.trim(), '{"skip":false}');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no chromium on PATH/);
});
