// Every chart renders headless to SVG and to a PNG that decodes, with the expected text in it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import {
  attentionDistanceSpec,
  chartToPng,
  chartToSvg,
  confusionSpec,
  imageGridSpec,
  posEmbedSpec,
  trainingCurvesSpec,
} from '../../src/analysis/charts.ts';
import { parseMetrics } from '../../src/analysis/training-curves.ts';

async function size(png: Buffer): Promise<[number, number]> {
  const m = await sharp(png).metadata();
  assert.equal(m.format, 'png');
  return [m.width!, m.height!];
}

test('attention distance scatter: one point per head and layer, axis titles as in the paper', async () => {
  const spec = attentionDistanceSpec([[10, 80], [40, 120], [90, 100]], 224, 5);
  const svg = await chartToSvg(spec, 1);
  assert.match(svg, /Network depth \(layer\)/);
  assert.match(svg, /Mean attention distance \(pixels\)/);
  assert.match(svg, /over 5 images at 224 px/);
  assert.match(svg, /mark-symbol/);
  const [w, h] = await size(await chartToPng(spec));
  assert.ok(w > 400 && h > 400, `${w}x${h}`);
});

test('position-embedding grid: g² tiles of g² cells, large grids thinned to 16 tiles per side', async () => {
  const sim = (g: number) => ({ grid: g, values: new Float64Array(g ** 4).fill(0.5) });
  const small = posEmbedSpec(sim(3)) as { data: { values: unknown[] } };
  assert.equal(small.data.values.length, 81);
  const big = posEmbedSpec(sim(24)) as { data: { values: unknown[] }; title: { subtitle: string } };
  assert.equal(big.data.values.length, 12 * 12 * 24 * 24);
  assert.match(big.title.subtitle, /every 2th row and column/);
  const svg = await chartToSvg(posEmbedSpec(sim(3)), 1);
  assert.match(svg, /Input patch row/);
  assert.match(svg, /Cosine similarity/);
  const [w, h] = await size(await chartToPng(posEmbedSpec(sim(3))));
  assert.ok(w > 800 && h > 800, `${w}x${h}`);
});

test('image grid keeps tile order and repeated titles, and embeds the images inline', async () => {
  const tile = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toBuffer();
  const tiles = ['b "x"', 'a', 'a'].map((title) => ({ title, png: tile }));
  const svg = await chartToSvg(imageGridSpec(tiles, { columns: 2, tileSize: 40, title: 'T' }), 1);
  assert.ok(svg.indexOf('>b "x"<') >= 0 && svg.indexOf('>b "x"<') < svg.indexOf('>a<'), 'order');
  assert.equal((svg.match(/>a</g) ?? []).length, 2);
  assert.equal((svg.match(/data:image\/png;base64/g) ?? []).length, 3);
  const png = await chartToPng(imageGridSpec(tiles, { columns: 2, tileSize: 40 }));
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i]! > 200 && data[i + 1]! < 60) red++;
  assert.ok(red > 3 * 80 * 80 * 0.9, `red pixels ${red}`); // three 80×80 px tiles at scale 2
});

test('confusion matrix: class names on the axes, absent classes left out, counts shown', async () => {
  const k = 4;
  const confusion = new Int32Array(k * k);
  confusion[0 * k + 0] = 5;
  confusion[0 * k + 2] = 1;
  confusion[2 * k + 2] = 3;
  const spec = confusionSpec(confusion, ['cat', 'dog', 'eel', 'fox']) as { data: { values: { truth: string }[] } };
  assert.deepEqual([...new Set(spec.data.values.map((v) => v.truth))], ['cat', 'eel']);
  const svg = await chartToSvg(spec as never, 1);
  for (const s of ['cat', 'eel', 'Predicted class', 'True class', '9 images, 88.89% on the diagonal', '>5<']) assert.ok(svg.includes(s), s);
  assert.ok(!svg.includes('>dog<'));
  await size(await chartToPng(spec as never));
});

test('training curves: a panel per metric', async () => {
  const curves = parseMetrics(
    '{"kind":"step","step":1,"loss":2,"lr":0.1}\n{"kind":"step","step":2,"loss":1,"lr":0.2}\n{"kind":"epoch","step":2,"test_loss":1.5}',
  );
  const svg = await chartToSvg(trainingCurvesSpec(curves, 'run'), 1);
  for (const s of ['>loss<', '>lr<', 'per step', 'test', '3 records']) assert.ok(svg.includes(s), s);
  await size(await chartToPng(trainingCurvesSpec(curves, 'run')));
});
