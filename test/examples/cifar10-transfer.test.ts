// The CIFAR-10 transfer example end to end in its quick mode: the real archive, every vitkit command it chains
// (train, train, finetune, fewshot), and the table it writes. The numbers of a quick run mean nothing; the README's
// table comes from the full run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../data/helpers.ts';

const script = fileURLToPath(new URL('../../examples/cifar10-transfer.ts', import.meta.url));

test('cifar10-transfer --quick: pre-trains, trains from scratch, fine-tunes, few-shots and writes the table', () => {
  const out = tempDir('cifar10-transfer');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--quick', '--out', out], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  for (const command of ['train', 'finetune', 'fewshot']) assert.match(r.stdout, new RegExp(`^\\$ vitkit ${command} `, 'm'));
  assert.match(r.stdout, /\| \(b\) fine-tuned at 32 px/);
  const { rows, fewshot } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
    rows: string[][];
    fewshot: { shots: number; mean: number }[];
  };
  assert.equal(rows.length, 3 + 2);
  assert.deepEqual(fewshot.map((f) => f.shots), [1, 5]);
  for (const [, acc] of rows) {
    const value = Number(/^([\d.]+)%/.exec(acc!)?.[1]);
    assert.ok(value >= 0 && value <= 100, `accuracy '${acc}'`);
  }
});
