// Position-embedding similarity of a resampled grid against numpy on timm's own resampling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { posEmbedSimilarity } from '../../src/analysis/pos-embed-similarity.ts';
import { resamplePosEmbed } from '../../src/model/pos-embed.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FIXTURES } from '../fixtures.ts';
import { assertClose, reference } from './reference.ts';

test('similarity of micro_p8_64_avg position embeddings resampled 8×8 → 12×12 matches timm + numpy', () => {
  const { weights } = loadCheckpoint(`${FIXTURES}micro_p8_64_avg/timm.safetensors`, { numHeads: 3 });
  const sim = posEmbedSimilarity(resamplePosEmbed(weights.get('pos_embed')!, 12, 1), 1);
  assert.equal(sim.grid, 12);
  assertClose(sim.values, reference('p8.pos_sim_12').data as Float32Array, 1e-5, 'pos-embed similarity');
});

test('similarity is symmetric with ones on the diagonal; prefix tokens are left out', () => {
  const data = Float32Array.from([9, 9, /* patches: */ 1, 0, 0, 1, -1, 0, 1, 1]);
  const sim = posEmbedSimilarity({ dtype: 'float32', shape: [1, 5, 2], data }, 1);
  assert.equal(sim.grid, 2);
  const s = Array.from(sim.values, (v) => Math.round(v * 1e6) / 1e6);
  assert.deepEqual(s.slice(0, 4), [1, 0, -1, Math.round(1e6 / Math.SQRT2) / 1e6]);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.equal(sim.values[i * 4 + j], sim.values[j * 4 + i]);
});

test('a pos_embed that is not a square grid after the prefix is an error naming its shape', () => {
  assert.throws(
    () => posEmbedSimilarity({ dtype: 'float32', shape: [1, 6, 2], data: new Float32Array(12) }, 1),
    /pos_embed \[1, 6, 2\] is not \[1, 1 \+ g·g, D\]/,
  );
});
