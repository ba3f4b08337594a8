import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { hfToTimm, isHfNaming, timmToHf } from '../../src/weights/hf.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertSameTensors, assertUserError } from './helpers.ts';

for (const model of ['micro_p16_224', 'micro_gray_p4_28']) {
  const timm = readSafetensors(join(SHARED, model, 'timm.safetensors')).tensors;
  const hf = readSafetensors(join(SHARED, model, 'hf', 'model.safetensors')).tensors;

  test(`${model}: HF names map to timm's exactly, and back`, () => {
    assert.ok(isHfNaming(hf) && !isHfNaming(timm));
    assertSameTensors(hfToTimm(hf), timm);
    assertSameTensors(timmToHf(timm), hf);
  });

  test(`${model}: ViTModel names (no vit. prefix) map too; the pooler is dropped`, () => {
    const bare = new Map([...hf].filter(([k]) => !k.startsWith('classifier.')).map(([k, v]) => [k.replace(/^vit\./, ''), v]));
    bare.set('pooler.dense.weight', timm.get('head.weight')!);
    bare.set('pooler.dense.bias', timm.get('head.bias')!);
    assertSameTensors(hfToTimm(bare), new Map([...timm].filter(([k]) => !k.startsWith('head.'))));
  });
}

test('unknown names pass through; incomplete q/k/v and inexpressible models are UserErrors', () => {
  const timm = readSafetensors(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors')).tensors;
  const hf = timmToHf(timm);
  hf.set('vit.extra.thing', timm.get('norm.bias')!);
  assert.ok(hfToTimm(hf).has('extra.thing'));
  hf.delete('vit.encoder.layer.1.attention.attention.key.weight');
  assertUserError(() => hfToTimm(hf), /lack encoder\.layer\.1\.attention\.attention\.key\.weight/);
  const avg = readSafetensors(join(SHARED, 'micro_p8_64_avg', 'timm.safetensors')).tensors;
  assertUserError(() => timmToHf(avg), /average pooling cannot be saved/);
});
