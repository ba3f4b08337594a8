// `vitkit zero-shot` as a user runs it, on the micro CLIPModel folder of test/fixtures/clip-zero-shot: the ranked
// labels equal transformers' logits_per_image and its softmax (1e-5 of scale: float32 on both sides, see
// test/inference/zero-shot.test.ts), --top, the human lines, --precision, a Hub id (a local Hub-shaped server); and
// what it refuses, in one line each.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { FAMILIES } from '../model/family-fixtures.ts';
import { ZERO_SHOT, zeroShotExpected } from '../model/clip-fixtures.ts';
import { tempDir } from '../data/helpers.ts';
import { COMMIT, startHubServer } from '../hub/hub-server.ts';
import { vitkit, vitkitAsync } from './run.ts';

const images = [0, 1].map((i) => `${ZERO_SHOT}img${i}.png`);
const labels = (JSON.parse(readFileSync(`${ZERO_SHOT}manifest.json`, 'utf8')) as { label_sets: string[][] }).label_sets[1]!;
const want = zeroShotExpected().get('model.set1.logits_per_image')!.data as Float32Array;

interface Line {
  image: string;
  device: string;
  top: { index: number; label: string; prob: number; logit: number }[];
}

const run = (args: string[]): Line[] => {
  const r = vitkit(['zero-shot', ...images, '--checkpoint', `${ZERO_SHOT}model`, '--labels', labels.join(','), '--json', '--threads', '1', ...args]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /note:/, 'the folder states its preprocessing');
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
};

test('--json: per image every label ranked, logits and probabilities equal to transformers\' within 1e-5', () => {
  const lines = run([]);
  assert.deepEqual(lines.map((l) => [l.image, l.device]), images.map((i) => [i, 'cpu']));
  const l = labels.length;
  const scale = Math.max(...want.map(Math.abs));
  lines.forEach((line, i) => {
    const row = want.subarray(i * l, (i + 1) * l);
    const sum = row.reduce((a, v) => a + Math.exp(v), 0);
    assert.equal(line.top.length, l);
    assert.deepEqual(line.top.map((p) => p.index), [...row.keys()].sort((a, b) => row[b]! - row[a]!), 'ranked by logit');
    for (const p of line.top) {
      assert.equal(p.label, labels[p.index]);
      assert.ok(Math.abs(p.logit - row[p.index]!) < 1e-5 * scale, `${p.label}: logit ${p.logit} vs ${row[p.index]}`);
      assert.ok(Math.abs(p.prob - Math.exp(row[p.index]!) / sum) < 1e-5, `${p.label}: prob ${p.prob}`);
    }
  });
});

test('--top K keeps the K most probable; without --json one line per label under each image', () => {
  const full = run([]);
  assert.deepEqual(run(['--top', '2']).map((l) => l.top), full.map((l) => l.top.slice(0, 2)));
  const r = vitkit(['zero-shot', images[0]!, '--checkpoint', `${ZERO_SHOT}model`, '--labels', labels.join(','), '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], images[0]);
  assert.deepEqual(lines.slice(1), full[0]!.top.map((p) => `  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${p.label}`));
});

// fp16: fp16.test.ts's bound, 8·2⁻¹¹ of scale (1.6e-3 measured). int8: each tower within the families' int8 bound
// (0.05), so both together within 0.1 (4.5e-2 measured: the image's and the labels' embeddings both move).
test('--precision fp16 and --int8 run both towers in that precision, close to float32', () => {
  const fp32 = run([]).flatMap((l) => l.top.sort((a, b) => a.index - b.index).map((p) => p.logit));
  const scale = Math.max(...fp32.map(Math.abs));
  for (const [args, bound] of [[['--precision', 'fp16'], 8 * 2 ** -11], [['--int8'], 0.1]] as const) {
    const got = run([...args]).flatMap((l) => l.top.sort((a, b) => a.index - b.index).map((p) => p.logit));
    const diff = Math.max(...got.map((x, i) => Math.abs(x - fp32[i]!)));
    assert.ok(diff > 0 && diff < bound * scale, `${args.join(' ')}: ${diff / scale} of scale`);
  }
});

test('what zero-shot cannot run is one line naming it and the fix; --help lists the flags', () => {
  const cases: [string[], RegExp][] = [
    [
      ['--checkpoint', `${FAMILIES}clip/hf`, '--labels', 'a,b'],
      /^vitkit: zero-shot needs a full CLIPModel \(text and image towers\): .*model_type 'clip_vision_model'/,
    ],
    [
      ['--checkpoint', `${FAMILIES}clip/timm.safetensors`, '--labels', 'a,b'],
      /^vitkit: zero-shot needs a full CLIPModel \(text and image towers\): .* is a single weight file/,
    ],
    [
      ['--checkpoint', `${FAMILIES}siglip/hf_model`, '--labels', 'a,b'],
      /^vitkit: .* is a SigLIP model: its SentencePiece tokenizer is not supported yet/,
    ],
    [['--checkpoint', `${ZERO_SHOT}model`], /^vitkit: zero-shot: --labels "a cat,a dog" is required/],
    [['--checkpoint', `${ZERO_SHOT}model`, '--labels', 'a,,b'], /^vitkit: zero-shot: --labels 'a,,b' has an empty label at position 2/],
    [
      ['--checkpoint', `${ZERO_SHOT}model`, '--labels', 'a,b', '--template', 'a photo'],
      /^vitkit: template 'a photo' \(--template\) must contain \{\} exactly once/,
    ],
    [['--labels', 'a,b'], /^vitkit: zero-shot: --checkpoint CLIP is required/],
  ];
  for (const [args, message] of cases) {
    const r = vitkit(['zero-shot', images[0]!, ...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, message);
  }
  const help = vitkit(['zero-shot', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--checkpoint', '--labels', '--template', '--top', '--json', '--precision', '--device']) {
    assert.match(help.stdout, new RegExp(`^ {2}${flag} `, 'm'), flag);
  }
  assert.match(vitkit(['--help']).stdout, /^ {2}zero-shot {2,}rank labels/m);
});

test('a Hub id: the CLIPModel repo with its tokenizer downloaded on first use, the folder\'s output', async () => {
  const files = Object.fromEntries(readdirSync(`${ZERO_SHOT}model`).map((f) => [f, readFileSync(`${ZERO_SHOT}model/${f}`)]));
  const hub = await startHubServer({ 'openai/clip-zero-shot-micro': { commit: COMMIT, files } });
  after(() => hub.close());
  const env = { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '' };
  const args = ['zero-shot', ...images, '--checkpoint', 'openai/clip-zero-shot-micro', '--labels', labels.join(','), '--json', '--threads', '1'];
  const r = await vitkitAsync(args, { env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^vitkit: downloaded [\d.]+ MB of openai\/clip-zero-shot-micro/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(lines.map((l) => l.top), run([]).map((l) => l.top));
});
