// `vitkit predict` output: --logits asks for the raw scores, which only JSON carries, so it implies --json.
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
