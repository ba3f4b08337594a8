// BEiT's relative position bias tables at another grid: timm's resize is checked end to end against timm in
// families.test.ts; here transformers' (BeitRelativePositionBias at 42 and 21 px), bias against bias.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.ts';
import type { PosResample } from '../../src/model/config.ts';
import { relativePositionIndex, resizeRelPosTable, tableRows } from '../../src/model/rel-pos-bias.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { FAMILIES, familyExpected, relErr } from './family-fixtures.ts';

/** The [1, H, T, T] bias a table gives on a g×g grid, as transformers returns it. */
function bias(table: Tensor, grid: number): Tensor {
  const heads = table.shape[1]!;
  const index = relativePositionIndex(grid);
  const t = grid * grid + 1;
  const data = new Float32Array(heads * t * t);
  const rows = table.data as Float32Array;
  for (let h = 0; h < heads; h++) for (let p = 0; p < t * t; p++) data[h * t * t + p] = rows[Number(index[p]) * heads + h]!;
  return { dtype: 'float32', shape: [1, heads, t, t], data };
}

test("a Hugging Face BEiT's tables at 42 and 21 px give transformers' bias (bilinear resize, not timm's)", () => {
  const c = loadCheckpoint(`${FAMILIES}beit/hf`);
  assert.equal(c.config.posResample, 'transformers');
  const table = c.weights.get('blocks.0.attn.relative_position_bias_table')!;
  for (const [grid, key] of [[6, 'hf.pos_alt'], [3, 'hf.pos_small']] as const) {
    const want = familyExpected('beit').get(key)!;
    const got = (rule: PosResample) => bias(resizeRelPosTable(table, grid, rule), grid);
    assert.deepEqual(resizeRelPosTable(table, grid, 'transformers').shape, [tableRows(grid), 2]);
    const err = relErr(got('transformers'), want);
    assert.ok(err < 1e-6, `grid ${grid}: ${err}`); // float32 rounding of a 4-tap sum
    const timm = relErr(got('timm'), want);
    assert.ok(timm > 1e-2, `grid ${grid}, timm's rule: ${timm}`);
  }
});

test("transformers' rule keeps a table at its own grid and a constant table constant", () => {
  const table = { dtype: 'float32' as const, shape: [tableRows(3), 2], data: Float32Array.from({ length: tableRows(3) * 2 }, (_, i) => i) };
  assert.deepEqual(resizeRelPosTable(table, 3, 'transformers').data, table.data);
  const flat = { ...table, data: new Float32Array(table.data.length).fill(-1.5) };
  for (const g of [2, 5]) assert.ok((resizeRelPosTable(flat, g, 'transformers').data as Float32Array).every((v) => v === -1.5), `grid ${g}`);
});
