// A hybrid's backbone inferred from tensor shapes (any format, .pth included), and a one-line error naming the first
// parameter of a backbone vitkit does not know.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { toOnnx } from '../../src/graph/onnx.ts';
import type { StateDict } from '../../src/graph/tensor.ts';
import { inferenceGraph } from '../../src/model/inference-graph.ts';
import { Session } from '../../src/runtime/session.ts';
import { checkConfig, presets } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { inferBackbone } from '../../src/weights/infer-backbone.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { expected, maxAbsDiff } from '../fixtures.ts';
import { LOCAL, SHARED, assertUserError, tempDir } from './helpers.ts';

const r26 = () => readSafetensors(join(SHARED, 'hybrid_r26_32', 'timm.safetensors')).tensors;

test('stages, blocks and widths from the names and shapes; no backbone for a plain ViT', () => {
  assert.deepEqual(inferBackbone(r26(), 'r26'), { backbone: { stemChs: 64, layers: [2, 2], channels: [128, 256] }, inChans: 3 });
  const stem = readSafetensors(join(SHARED, 'hybrid_stem_p2_32', 'timm.safetensors')).tensors;
  assert.deepEqual(inferBackbone(stem, 'stem'), { backbone: { stemChs: 64, layers: [], channels: [] }, inChans: 3 });
  assert.equal(inferBackbone(readSafetensors(join(SHARED, 'micro_p16_224', 'timm.safetensors')).tensors, 'plain'), undefined);
  const c = loadCheckpoint(join(SHARED, 'hybrid_r26_32', 'timm.safetensors'), { numHeads: 2 }).config;
  assert.deepEqual([c.imgSize, c.patchSize, c.inChans, c.embedDim], [64, 1, 3, 64]);
});

test("a vitkit hybrid checkpoint keeps its image size where 'SAME' rounding makes the grid ambiguous", () => {
  const config = checkConfig({ ...presets.vit_hybrid_cifar!, imgSize: 30, depth: 1 });
  const path = join(tempDir(), 'odd.safetensors');
  saveCheckpoint(path, { config, weights: initParameters(config) }, 'vitkit');
  assert.deepEqual(loadCheckpoint(path).config, config);
});

test('a torch.save hybrid state dict loads and gives timm logits', async () => {
  const { config, weights } = loadCheckpoint(join(LOCAL, 'hybrid_stem_p2_32.pth'), { numHeads: 3 });
  const golden = expected('hybrid_stem_p2_32');
  const out = await (await Session.create(toOnnx(inferenceGraph(config, weights)))).run({ images: golden.get('input')! });
  assert.ok(maxAbsDiff(out.logits!, golden.get('logits')!) < 1e-4);
});

test('an unknown backbone is refused in one line naming its first unknown parameter', () => {
  const with_ = (extra: Record<string, number[]>, drop: (k: string) => boolean = () => false): StateDict => {
    const sd = new Map([...r26()].filter(([k]) => !drop(k)));
    for (const [k, shape] of Object.entries(extra)) sd.set(k, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    return sd;
  };
  // A pre-activation ResNetV2 ends in a final norm; a timm ResNet-D backbone has no `stem.conv` at all.
  assertUserError(() => inferBackbone(with_({ 'patch_embed.backbone.norm.weight': [256] }), 'preact.safetensors'),
    /preact\.safetensors: unknown hybrid backbone parameter 'patch_embed\.backbone\.norm\.weight'/);
  const resnetD = with_({ 'patch_embed.backbone.conv1.0.weight': [32, 3, 3, 3], 'patch_embed.backbone.bn1.weight': [32] }, (k) =>
    k.startsWith('patch_embed.backbone.'),
  );
  assertUserError(
    () => inferBackbone(resnetD, 'resnet26d.safetensors'),
    /unknown hybrid backbone parameter 'patch_embed\.backbone\.conv1\.0\.weight'/,
  );
});
