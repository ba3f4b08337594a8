// `vitkit predict` output: --logits asks for the raw scores, which only JSON carries, so it implies --json; a
// checkpoint that does not state its normalisation gets one notice, after the results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIXTURES } from '../fixtures.ts';
import { vitkit } from './run.ts';

const checkpoint = `${FIXTURES}micro_gray_p4_28/timm.safetensors`;
const image = `${FIXTURES}micro_gray_p4_28/img_0.png`;

test('--logits without --json prints the same JSON lines as with it, logits included', () => {
  const alone = vitkit(['predict', image, '--checkpoint', checkpoint, '--logits', '--threads', '1']);
  assert.equal(alone.status, 0, alone.stderr);
  const line = JSON.parse(alone.stdout) as { image: string; top: unknown[]; logits: number[] };
  assert.equal(line.image, image);
  assert.ok(line.logits.length > 1 && line.logits.every(Number.isFinite), alone.stdout);
  const withJson = vitkit(['predict', image, '--checkpoint', checkpoint, '--logits', '--json', '--threads', '1']);
  assert.equal(alone.stdout, withJson.stdout);
});

test('a bare timm file (no stated mean/std) gets one notice after the results; --mean/--std or a folder that says, none', () => {
  const bare = vitkit(['predict', image, '--checkpoint', checkpoint, '--json', '--threads', '1']);
  assert.equal(bare.status, 0, bare.stderr);
  const lines = bare.stderr.trim().split('\n').filter((l) => !/XDG_RUNTIME_DIR/.test(l));
  assert.equal(lines.length, 1, bare.stderr);
  assert.match(lines[0]!, /^vitkit: note: .*timm\.safetensors does not say how its images were normalised: .*--mean\/--std/);
  const stated = vitkit(['predict', image, '--checkpoint', checkpoint, '--mean', '0.5', '--std', '0.5', '--threads', '1']);
  assert.equal(stated.status, 0, stated.stderr);
  assert.doesNotMatch(stated.stderr, /note:/);
  const folder = vitkit(['predict', image, '--checkpoint', `${FIXTURES}micro_gray_p4_28/hf`, '--threads', '1']);
  assert.doesNotMatch(folder.stderr, /note:/);
});

test(
  '--precision fp16 predicts as fp32 does (float16 on the CPU: within 8·2⁻¹¹ of the logits\' scale); ' +
    '--int8 with another --precision is one line',
  () => {
    const hf = `${FIXTURES}micro_p16_224/hf`;
    const img = `${FIXTURES}micro_p16_224/img_1.png`;
    const logits = (args: string[]) => {
      const r = vitkit(['predict', img, '--checkpoint', hf, '--logits', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { top: { index: number }[]; logits: number[] };
    };
    const [fp32, fp16] = [logits([]), logits(['--precision', 'fp16'])];
    assert.equal(fp16.top[0]!.index, fp32.top[0]!.index);
    const scale = Math.max(...fp32.logits.map(Math.abs));
    const diff = Math.max(...fp16.logits.map((x, i) => Math.abs(x - fp32.logits[i]!)));
    assert.ok(diff < 8 * 2 ** -11 * scale && diff > 0, `${diff}`); // the bound of test/model/fp16.test.ts
    assert.deepEqual(logits(['--precision', 'int8', '--int8']).logits, logits(['--int8']).logits, '--int8 agrees with --precision int8');

    for (const [args, message] of [
      [['--precision', 'fp16', '--int8'], /^vitkit: --int8 is short for --precision int8, which conflicts with --precision fp16: give one$/],
      [['--precision', 'half'], /^vitkit: unknown --precision 'half' \(expected fp32\|fp16\|int8\)$/],
    ] as const) {
      const r = vitkit(['predict', img, '--checkpoint', hf, ...args]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr.trim(), message);
    }
  },
);
