import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportHtml } from '../../src/analysis/report.ts';
import { preset } from '../../src/model/config.ts';

test('the report lists facts, notes, figures with captions and the config, escaping text', () => {
  const html = reportHtml({
    checkpoint: 'runs/<a&b>.safetensors',
    format: 'vitkit',
    config: preset('vit_tiny_patch16_224'),
    facts: [['parameters', '5,717,416']],
    figures: [{ file: 'pos embed.png', title: 'Position embedding similarity', caption: 'cos "sim"' }],
    notes: ['No images given'],
    files: ['analysis.json'],
  });
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes('runs/&#60;a&#38;b&#62;.safetensors'));
  assert.ok(!html.includes('<a&b>'));
  assert.ok(html.includes('<img src="pos%20embed.png"'));
  assert.ok(html.includes('cos &#34;sim&#34;'));
  assert.ok(html.includes('<th>embedDim</th><td>192</td>'));
  assert.ok(html.includes('No images given'));
  assert.ok(html.includes('href="analysis.json"'));
  assert.ok(!/<script|https?:/.test(html), 'self-contained');
});
