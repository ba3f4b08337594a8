// vitkit train's architecture flags: --backbone makes a hybrid (a 1×1 projection unless --patch says otherwise),
// --depth 0 with --pool avg a pure ResNet (its backbone, global average pooling, a linear head); both train, and
// their checkpoints load back (vitkit's own and as a bare timm state dict, whose architecture comes from shapes).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tensor } from '../../src/graph/tensor.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { vitkit } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-train-arch-'));
const tiny = ['--data', 'fashion-mnist', '--steps', '2', '--batch', '8', '--force', '--json'];

function ok(args: string[]): string {
  const r = vitkit(args, { timeoutMs: 120_000 });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('--backbone STEM,BLOCKSxWIDTH trains a hybrid with a 1×1 projection of the feature map', () => {
  const out = join(tmp, 'hybrid');
  ok(['train', ...tiny, '--backbone', '32,1x128', '--dim', '32', '--depth', '1', '--heads', '2', '--out', out]);
  const { config } = loadCheckpoint(join(out, 'best.safetensors'));
  assert.deepEqual(config.backbone, { stemChs: 32, layers: [1], channels: [128] });
  assert.equal(config.patchSize, 1);
  assert.equal(config.depth, 1);
  assert.equal(config.pool, 'token');
});

test('--depth 0 --pool avg trains a pure ResNet that info describes and that loads back from its shapes alone', async () => {
  const out = join(tmp, 'resnet');
  const result = JSON.parse(
    ok(['train', ...tiny, '--backbone', '32', '--depth', '0', '--pool', 'avg', '--dim', '32', '--out', out])
      .trim()
      .split('\n')
      .at(-1)!,
  );
  assert.ok(Number.isFinite(result.test_acc));
  const best = join(out, 'best.safetensors');
  const ckpt = loadCheckpoint(best);
  assert.equal(ckpt.config.depth, 0);
  assert.equal(ckpt.config.classToken, false);
  assert.ok(!ckpt.weights.has('cls_token') && ![...ckpt.weights.keys()].some((k) => k.startsWith('blocks.')));
  assert.match(vitkit(['info', best]).stdout, /no encoder blocks/);
  const timm = join(tmp, 'resnet-timm.safetensors');
  ok(['convert', best, timm, '--to', 'timm']);
  const fromShapes = loadCheckpoint(timm).config;
  assert.deepEqual({ ...fromShapes, mlpDim: 0, numHeads: 0, qkvBias: true }, { ...ckpt.config, mlpDim: 0, numHeads: 0, qkvBias: true });
  const images = tensor('float32', [2, 1, 28, 28], Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => Math.sin(i)));
  const logits = async (path: string) => {
    const c = await Classifier.create(loadModel(path));
    try {
      return [...((await c.run(images)).logits!.data as Float32Array)];
    } finally {
      await c.release();
    }
  };
  const [a, b] = [await logits(best), await logits(timm)];
  assert.equal(a.length, 20);
  assert.deepEqual(b, a);
});
