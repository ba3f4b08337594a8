// The hybrid backbone's Google .npz names (conv_root, gn_root, block{s}/unit{u}/…) ⇄ timm's, exactly both ways,
// and `convert` between the formats through saveCheckpoint/loadCheckpoint.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { googleToTimm, timmToGoogle } from '../../src/weights/google.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/weights/checkpoint.ts';
import { readNpz } from '../../src/weights/npz.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertSameTensors, assertUserError, tempDir } from './helpers.ts';

const heads: Record<string, number> = { hybrid_stem_p2_32: 3, hybrid_r26_32: 2 };
const dir = tempDir();

for (const [model, h] of Object.entries(heads)) {
  test(`${model}: Google npz maps to timm exactly, and back`, () => {
    const timm = readSafetensors(join(SHARED, model, 'timm.safetensors')).tensors;
    const npz = readNpz(join(SHARED, model, 'google.npz'));
    assertSameTensors(googleToTimm(npz), timm);
    assertSameTensors(timmToGoogle(timm, h), npz);
  });

  test(`${model}: convert timm → npz → vitkit keeps the weights and the backbone; not to hf`, () => {
    const timm = loadCheckpoint(join(SHARED, model, 'timm.safetensors'), { numHeads: h });
    saveCheckpoint(join(dir, `${model}.npz`), timm, 'npz');
    const npz = loadCheckpoint(join(dir, `${model}.npz`));
    assert.deepEqual(npz.config, timm.config);
    assertSameTensors(npz.weights, timm.weights);
    saveCheckpoint(join(dir, `${model}.safetensors`), npz, 'vitkit');
    const own = loadCheckpoint(join(dir, `${model}.safetensors`));
    assert.deepEqual(own.config.backbone, timm.config.backbone);
    assert.deepEqual([...own.weights.keys()], [...timm.weights.keys()], "timm's state-dict order");
    assertUserError(
      () => saveCheckpoint(join(dir, `${model}-hf`), timm, 'hf'),
      /a hybrid ViT cannot be saved as a Hugging Face directory: save it as timm, npz or vitkit/,
    );
  });
}
