// analyzeModel end to end on a tiny model without a class token: every file, the numbers, and no clobbering.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { analyzeModel } from '../../src/analysis/analyze.ts';
import { loadModel } from '../../src/inference/classifier.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { ANALYSIS_FIXTURES } from './reference.ts';

const model = loadModel(`${ANALYSIS_FIXTURES}noclass.safetensors`, { config: { numHeads: 2 }, mean: [0.5], std: [0.5] });

test('writes the figures, the numbers and index.html; refuses to overwrite without force', async () => {
  const out = join(tempDir('analyze'), 'report');
  const summary = await analyzeModel(model, out, { images: `${FIXTURES}micro_p8_64_avg`, examples: 1 });
  const names = summary.files.map((f) => f.slice(out.length + 1));
  assert.deepEqual(names, [
    'attention-distance.png',
    'attention-rollout.png',
    'pos-embed-similarity.png',
    'embedding-filters.png',
    'analysis.json',
    'index.html',
  ]);
  for (const f of summary.files.filter((f) => f.endsWith('.png'))) {
    const m = await sharp(f).metadata();
    assert.ok(m.format === 'png' && m.width! > 300 && m.height! > 200, `${f}: ${m.width}x${m.height}`);
  }
  assert.equal(summary.images, 2);
  assert.equal(summary.attentionDistance!.length, 2);
  assert.ok(summary.attentionDistance!.flat().every((d) => d > 0 && d < 32 * Math.SQRT2));
  assert.equal(summary.filterExplained.length, 15, 'D − 1 = 15 components carry the variance of 16 centred filters');
  const json = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8'));
  assert.deepEqual(json.attentionDistance, summary.attentionDistance);
  assert.equal(json.config.classToken, false);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  for (const n of names.filter((n) => n.endsWith('.png'))) assert.ok(html.includes(`src="${n}"`), n);
  assert.ok(html.includes('mean over the patch tokens (the model pools by averaging them)'));
  await assert.rejects(analyzeModel(model, out), /attention-distance\.png already exists: choose another output path or pass --force/);
  const again = await analyzeModel(model, out, { force: true });
  assert.equal(again.files.length, 4, 'without images: pos-embed, filters, json, html');
  assert.match(again.notes[0]!, /No images given/);
});

test('a BEiT (relative position bias, no pos_embed) is analysed without the position-embedding figure, and says why', async () => {
  const out = join(tempDir('analyze-beit'), 'report');
  const model = loadModel(new URL('../fixtures/families/beit/hf', import.meta.url).pathname);
  const r = await analyzeModel(model, out);
  assert.ok(r.notes.some((n) => /No absolute position embeddings/.test(n)));
  assert.ok(!r.files.some((f) => f.endsWith('pos-embed-similarity.png')));
});
