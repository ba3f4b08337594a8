// Reading CLIP's text tower from a CLIPModel folder: the config it infers, and every way a folder can fail, as one
// UserError line naming the file and the fix. Broken folders are copies of test/fixtures/clip-zero-shot/model with
// one thing changed.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import type { StateDict } from '../../src/graph/tensor.ts';
import { readClipText } from '../../src/weights/clip-text.ts';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';
import { FAMILIES } from '../model/family-fixtures.ts';
import { ZERO_SHOT } from '../model/clip-fixtures.ts';

const MODEL = `${ZERO_SHOT}model`;

/** A copy of the fixture folder with its config's text_config and its tensors edited. */
function variant(edit: { text?: Record<string, unknown>; top?: Record<string, unknown>; tensors?: (t: StateDict) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-clip-text-'));
  const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown> & { text_config: Record<string, unknown> };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...edit.top, text_config: { ...config.text_config, ...edit.text } }));
  const tensors = readSafetensors(join(MODEL, 'model.safetensors')).tensors;
  edit.tensors?.(tensors);
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

const fails = (dir: string, message: RegExp) =>
  assert.throws(
    () => readClipText(dir),
    (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'),
    message.source,
  );

test('the config comes from the shapes and text_config; the logit scale from logit_scale', () => {
  const c = readClipText(MODEL);
  assert.deepEqual(c.config, {
    vocabSize: 644, maxPositions: 77, embedDim: 32, depth: 2, numHeads: 2, mlpDim: 128, layerNormEps: 1e-5, mlp: 'quick_gelu',
    projectionDim: 16, eosTokenId: 643,
  });
  assert.ok(Math.abs(c.logitScale - 3.9) < 1e-6, `${c.logitScale}`);
  assert.equal(readClipText(variant({ text: { hidden_act: 'gelu', eos_token_id: undefined } })).config.mlp, 'gelu');
  assert.equal(readClipText(variant({ text: { eos_token_id: undefined } })).config.eosTokenId, 49407, "CLIPTextConfig's default");
});

test('what is not a whole CLIPModel says that zero-shot needs one (or that SigLIP is not supported yet)', () => {
  fails(
    `${FAMILIES}clip/hf`,
    /^zero-shot needs a full CLIPModel \(text and image towers\): .*config\.json has model_type 'clip_vision_model', expected 'clip'/,
  );
  fails(`${FAMILIES}clip/timm.safetensors`, /^zero-shot needs a full CLIPModel .* is a single weight file/);
  fails(`${FAMILIES}dinov2/hf`, /model_type 'dinov2', expected 'clip'/);
  fails(`${FAMILIES}siglip/hf_model`, /is a SigLIP model: its SentencePiece tokenizer is not supported yet/); // a whole SiglipModel
  const visionOnly = mkdtempSync(join(tmpdir(), 'vitkit-clip-text-'));
  writeFileSync(join(visionOnly, 'config.json'), JSON.stringify({ model_type: 'clip' }));
  copyFileSync(`${FAMILIES}clip/hf/model.safetensors`, join(visionOnly, 'model.safetensors'));
  fails(visionOnly, /^zero-shot needs a full CLIPModel .*have no text tower \(text_model\.\*\)/);
  fails(join(tmpdir(), 'no-such-clip-folder'), /does not exist/);
});

test('a config that disagrees with the weights, or a tensor missing, misshapen or unknown, is named', () => {
  fails(variant({ text: { hidden_size: 64 } }), /says text_config\.hidden_size 64 but the weights have 32: fix config\.json/);
  fails(variant({ text: { num_hidden_layers: 3 } }), /says text_config\.num_hidden_layers 3 but the weights have 2/);
  fails(variant({ text: { num_attention_heads: 3 } }), /num_attention_heads 3, which does not divide the width 32/);
  fails(variant({ text: { hidden_act: 'relu' } }), /text_config\.hidden_act 'relu' \(vitkit runs gelu, quick_gelu/);
  fails(variant({ text: { layer_norm_eps: -1 } }), /text_config\.layer_norm_eps -1/);
  fails(variant({ tensors: (t) => t.delete('logit_scale') }), /no scalar logit_scale/);
  fails(variant({ tensors: (t) => t.delete('text_projection.weight') }), /lacks text_projection\.weight/);
  fails(variant({ tensors: (t) => t.delete('text_model.encoder.layers.1.mlp.fc2.bias') }), /lacks 'blocks\.1\.mlp\.fc2\.bias' \(expected \[32\]\)/);
  fails(
    variant({ tensors: (t) => t.delete('text_model.encoder.layers.1.self_attn.k_proj.weight') }),
    /Hugging Face weights lack text_model\.encoder\.layers\.1\.self_attn\.k_proj\.weight/,
  );
  const bias = (t: StateDict) => t.set('text_model.final_layer_norm.bias', { dtype: 'float32', shape: [31], data: new Float32Array(31) });
  fails(variant({ tensors: bias }), /text tensor 'norm\.bias' has shape \[31\], expected \[32\]/);
  const extra = (t: StateDict) => t.set('text_model.encoder.adapter.weight', { dtype: 'float32', shape: [2], data: new Float32Array(2) });
  fails(variant({ tensors: extra }), /unexpected text tensor 'text_model\.encoder\.adapter\.weight'/);
});
