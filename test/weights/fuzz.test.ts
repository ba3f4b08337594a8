// The hostile-checkpoint corpus (see fuzz-cases.ts and ../fuzz-corpus.ts): every case loads or is refused with a
// one-line UserError naming the file, each within 2 s, with bounded memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/rng.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { describeStats, runCorpus } from '../fuzz-corpus.ts';
import { hfCases, npzCases, pthCases, safetensorsCases } from './fuzz-cases.ts';

const corpora = { safetensors: safetensorsCases, npz: npzCases, pth: pthCases, 'Hugging Face folders': hfCases };

for (const [name, make] of Object.entries(corpora)) {
  test(`hostile ${name}: a valid load or a one-line UserError, fast and bounded`, async (t) => {
    const cases = make(new Rng(15));
    const stats = await runCorpus(cases, (path) => loadCheckpoint(path));
    t.diagnostic(describeStats(name, stats));
    assert.ok(stats.refused > 0);
  });
}
