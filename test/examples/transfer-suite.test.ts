// The transfer suite end to end in its quick mode: tiny upstream models of both architectures at two data sizes,
// three 1k-style targets (CIFAR-10 classes 5–9, Fashion-MNIST and MNIST as PNG folders), and every protocol (scratch,
// fine-tuning at 32 and 24 px, few-shot, linear probe). The numbers of a quick run mean little; its frozen features
// must still beat chance, and results.json must hold every number with the command that made it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Results } from '../../examples/transfer-report.ts';
import { spearman } from '../../examples/transfer-report.ts';
import { tempDir } from '../data/helpers.ts';

const script = fileURLToPath(new URL('../../examples/transfer-suite.ts', import.meta.url));

test('spearman: 1 for the same order, -1 for the reverse, ties at their mean rank', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 1, 2], [1, 2, 3]) - Math.sqrt(3) / 2) < 1e-12);
});

test('transfer-suite --quick: pre-trains, transfers by every protocol to three targets and writes tables and plot', () => {
  const out = tempDir('transfer-suite');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--quick', '--out', out], { encoding: 'utf8', timeout: 480_000 });
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  assert.deepEqual(results.upstream.map((u) => u.id), ['ViT, 50%', 'ViT, 100%', 'hybrid, 50%', 'hybrid, 100%']);
  assert.deepEqual(Object.keys(results.targets), ['CIFAR-10 5–9', 'Fashion-MNIST', 'MNIST']);
  const chance = { 'CIFAR-10 5–9': 1 / 5, 'Fashion-MNIST': 1 / 10, MNIST: 1 / 10 } as Record<string, number>;
  for (const [name, t] of Object.entries(results.targets)) {
    assert.deepEqual(t.scratch.map((s) => s.arch), ['ViT', 'hybrid']);
    assert.equal(t.runs.length, 4);
    for (const run of t.runs) {
      for (const x of [run.finetune32, run.finetune24, run.probe, ...t.scratch.flatMap((s) => s.lrs)]) {
        assert.ok(x.test_acc >= 0 && x.test_acc <= 1, `${name}: accuracy ${x.test_acc}`);
        assert.match(x.command, /^vitkit (train|finetune|linear-probe) /);
      }
      assert.match(run.finetune24.command, /--img-size 24 /);
      assert.deepEqual(run.fewshot.results.map((f) => f.shots), [1, 2]);
    }
    // Frozen features of even a tiny pre-trained model separate the classes better than guessing.
    const frozen = t.runs.flatMap((run) => [run.probe.test_acc, ...run.fewshot.results.map((f) => f.mean)]);
    const mean = frozen.reduce((a, b) => a + b, 0) / frozen.length;
    assert.ok(mean > chance[name]!, `${name}: frozen-feature accuracy ${mean} vs chance ${chance[name]}`);
  }
  assert.ok(
    results.step_seconds > 0 && results.step_seconds <= results.seconds,
    `steps ${results.step_seconds} s within the wall time ${results.seconds} s`,
  );
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(md, /\| fine-tuned at 32 px, pre-trained on \| CIFAR-10 5–9 \| Fashion-MNIST \| MNIST \| mean \|/);
  assert.match(md, /Spearman rank correlation/);
  assert.ok(existsSync(join(out, 'transfer.png')));
});
