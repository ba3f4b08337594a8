import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { googleHeads, googleToTimm, timmToGoogle } from '../../src/weights/google.ts';
import { readNpz } from '../../src/weights/npz.ts';
import { readSafetensors } from '../../src/weights/safetensors.ts';
import { SHARED, assertSameTensors, assertUserError, manifest } from './helpers.ts';

for (const model of ['micro_p16_224', 'micro_gray_p4_28']) {
  test(`${model}: Google npz maps to timm exactly, and back`, () => {
    const timm = readSafetensors(join(SHARED, model, 'timm.safetensors')).tensors;
    const npz = readNpz(join(SHARED, model, 'google.npz'));
    const heads = googleHeads(npz);
    assert.equal(heads, manifest.models[model]!.heads);
    assertSameTensors(googleToTimm(npz), timm);
    assertSameTensors(timmToGoogle(timm, heads!), npz);
  });
}

test('average pooling without a class token maps encoder_norm to fc_norm; with one it cannot be saved', () => {
  const avg = readSafetensors(join(SHARED, 'micro_p8_64_avg', 'timm.safetensors')).tensors;
  assertUserError(() => timmToGoogle(avg, 3), /average pooling by leaving out the class token/);
  const noCls = new Map(avg);
  noCls.delete('cls_token');
  const g = timmToGoogle(noCls, 3);
  assert.ok(g.has('Transformer/encoder_norm/scale') && !g.has('cls'));
  assertSameTensors(googleToTimm(g), noCls);
});

test('pre-logits layers map both ways; unknown names pass through', () => {
  const timm = readSafetensors(join(SHARED, 'micro_gray_p4_28', 'timm.safetensors')).tensors;
  const withPre = new Map(timm);
  withPre.set('pre_logits.fc.weight', timm.get('blocks.0.attn.proj.weight')!);
  withPre.set('pre_logits.fc.bias', timm.get('norm.bias')!);
  withPre.set('something.else', timm.get('norm.bias')!);
  const g = timmToGoogle(withPre, 4);
  assert.deepEqual(g.get('pre_logits/kernel')!.shape, [32, 32]);
  assert.ok(g.has('something.else'));
  assertSameTensors(googleToTimm(g), withPre);
});
