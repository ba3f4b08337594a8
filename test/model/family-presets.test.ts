// The families' presets have timm's parameter counts (recorded by test/fixtures/families/make_fixtures.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { preset } from '../../src/model/config.ts';
import { countParameters } from '../../src/model/params.ts';

const manifest = JSON.parse(readFileSync(new URL('../fixtures/families/manifest.json', import.meta.url), 'utf8')) as {
  presets: Record<string, { params: number; num_classes: number; img_size: number }>;
};

test('family presets: parameter counts, classes and resolution equal timm', () => {
  const names = Object.keys(manifest.presets);
  assert.ok(names.length >= 15);
  for (const timmName of names) {
    const want = manifest.presets[timmName]!;
    const cfg = preset(timmName.replace(/\.openai$/, ''));
    assert.equal(countParameters(cfg), want.params, timmName);
    assert.equal(cfg.numClasses, want.num_classes, timmName);
    assert.equal(cfg.imgSize, want.img_size, timmName);
  }
});
