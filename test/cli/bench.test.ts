// vitkit bench: an architecture on random weights or a real checkpoint (an int8 one runs in int8), --json.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const hf = `${FIXTURES}micro_p16_224/hf`;
const quick = ['--batch', '2', '--seconds', '0', '--threads', '1', '--json'];

function bench(args: string[]): Record<string, unknown> {
  const r = vitkit(['bench', ...args, ...quick]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test('bench --checkpoint times the checkpoint: float32, --int8, and an int8 file from quantize', () => {
  const fp32 = bench(['--checkpoint', hf]);
  assert.deepEqual([fp32.checkpoint, fp32.precision, fp32.batch, fp32.arch], [hf, 'fp32', 2, undefined]);
  assert.ok((fp32.images_per_sec as number) > 0 && (fp32.gflops_per_sec as number) > 0, JSON.stringify(fp32));
  assert.equal(bench(['--checkpoint', hf, '--int8']).precision, 'int8');
  const int8 = join(tempDir('bench'), 'int8.safetensors');
  assert.equal(vitkit(['quantize', hf, int8]).status, 0);
  assert.equal(bench(['--checkpoint', int8]).precision, 'int8', 'an int8 checkpoint runs in int8 without --int8');
  assert.equal(bench(['--arch', 'vit_tiny_patch16_224', '--img-size', '32']).arch, 'vit_tiny_patch16_224');
});

test('bench needs exactly one of --arch and --checkpoint', () => {
  for (const args of [[], ['--arch', 'vit_tiny_patch16_224', '--checkpoint', hf]]) {
    const r = vitkit(['bench', ...args]);
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), ['vitkit: bench: give --arch NAME (e.g. vit_small_patch16_224) or --checkpoint PATH, not both']);
  }
});
