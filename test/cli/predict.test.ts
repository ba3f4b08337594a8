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
