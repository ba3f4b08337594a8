// vitkit web: a checkpoint without a classifier head is refused in one line, before the page is built or served.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { vitkit } from './run.ts';

test('web refuses a feature extractor in one line, pointing to embed and finetune', () => {
  const cfg = checkConfig({ ...defaultConfig, imgSize: 16, patchSize: 8, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 0 });
  const headless = join(tempDir('web'), 'headless.safetensors');
  saveCheckpoint(headless, { config: cfg, weights: initParameters(cfg) }, 'timm');
  const r = vitkit(['web', '--checkpoint', headless, '--heads', '2', '--port', '0'], { timeoutMs: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '', 'nothing built, nothing served');
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `vitkit: web: ${headless} has no classifier head: the page shows class predictions ` +
      `(vitkit embed gives its features; vitkit finetune adds a head)`,
  ]);
});
