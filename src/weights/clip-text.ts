// CLIP's text tower from a Hugging Face CLIPModel folder (config.json with text_config, model.safetensors with
// text_model.*, text_projection and logit_scale): transformers' names → the text tower's (model/clip-text.ts), q/k/v
// fused as the vision side fuses them, config fields checked against the shapes. Anything that is not a whole
// CLIPModel is a one-line error saying what zero-shot needs.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDict } from '../graph/tensor.ts';
import { type ClipTextConfig, clipTextParameterShapes } from '../model/clip-text.ts';
import { formatShape } from '../graph/tensor.ts';
import { UserError, shown } from '../errors.ts';
import { inside, readJson, readWeights } from './hf-dir.ts';
import { activations, clipBlock, clipQkv, isTextTower, movePairs, renameBlocks } from './hf-families.ts';
import { blockCount } from './rename.ts';

/** A CLIPModel's text side: the tower, and the learned temperature of its image–text logits. */
export interface ClipTextCheckpoint {
  readonly config: ClipTextConfig;
  readonly weights: StateDict;
  /** logit_scale: logits_per_image = exp(logitScale) · cos(image_embeds, text_embeds) (e^4.6052 = 100 for OpenAI's). */
  readonly logitScale: number;
}

const needsFull = 'zero-shot needs a full CLIPModel (text and image towers)';
const example = 'use a Hugging Face CLIPModel folder or Hub id such as openai/clip-vit-base-patch32';

/** transformers' CLIPTextModel names outside the blocks → the text tower's. */
const textTop = [
  ['embeddings.token_embedding.weight', 'token_embed.weight'], ['embeddings.position_embedding.weight', 'pos_embed'],
  ['final_layer_norm', 'norm'],
] as const;

/** text_model.* and text_projection → the text tower's names (q/k/v fused into each block's attn.qkv). */
function textToCanonical(hf: StateDict): StateDict {
  const src: StateDict = new Map([...hf].filter(([k]) => k.startsWith('text_model.')));
  src.delete('text_model.embeddings.position_ids'); // a buffer older checkpoints saved
  const out: StateDict = new Map();
  movePairs(src, out, textTop, true, 'text_model.');
  renameBlocks(src, out, 'text_model.encoder.layers.', clipBlock, clipQkv);
  const proj = hf.get('text_projection.weight');
  if (proj) out.set('proj.weight', proj);
  for (const [k, v] of src) out.set(k, v); // left over: named as an unexpected tensor by checkText
  return out;
}

/** The model_type of a folder's config.json, refusing what is not a CLIPModel in one line. */
function clipModelConfig(dir: string): { path: string; config: Record<string, unknown> } {
  if (!existsSync(dir)) throw new UserError(`${dir} does not exist: ${example}`);
  if (!statSync(dir).isDirectory()) {
    throw new UserError(`${needsFull}: ${dir} is a single weight file (an image tower at most): ${example}`);
  }
  if (!existsSync(join(dir, 'config.json'))) {
    throw new UserError(`${needsFull}: ${dir} has no config.json (not a Hugging Face folder): ${example}`);
  }
  const path = inside(dir, 'config.json');
  const config = readJson(path);
  const type = config.model_type;
  if (type === 'siglip') {
    throw new UserError(
      `${path} is a SigLIP model: its SentencePiece tokenizer is not supported yet (zero-shot runs CLIP models, with CLIP's BPE tokenizer)`,
    );
  }
  if (type !== 'clip') {
    throw new UserError(`${needsFull}: ${path} has model_type ${shown(type)}, expected 'clip': ${example}`);
  }
  return { path, config };
}

/** A positive integer field of text_config, or its transformers default when the config leaves it out. */
function intField(path: string, cfg: Record<string, unknown>, key: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new UserError(`${path} has text_config.${key} ${shown(v)} (expected a non-negative integer): fix config.json`);
  }
  return v;
}

/** Reads the text tower of the CLIPModel folder `dir` (a local folder; Hub ids are resolved before). */
export function readClipText(dir: string): ClipTextCheckpoint {
  const { path, config } = clipModelConfig(dir);
  const given = config.text_config;
  const text = typeof given === 'object' && given !== null ? (given as Record<string, unknown>) : {};
  const hf = readWeights(dir, isTextTower).tensors; // the text side alone: the image tower is loadModel's
  if (!hf.has('text_model.embeddings.token_embedding.weight')) {
    throw new UserError(`${needsFull}: the weights in ${dir} have no text tower (text_model.*): ${example}`);
  }
  const weights = textToCanonical(hf);
  const token = weights.get('token_embed.weight')!;
  const [vocabSize, embedDim] = token.shape as [number, number];
  const pos = weights.get('pos_embed');
  const fc1 = weights.get('blocks.0.mlp.fc1.weight');
  const proj = weights.get('proj.weight');
  if (!pos || !fc1 || !proj) {
    const missing = !pos ? 'text_model.embeddings.position_embedding.weight'
      : !fc1 ? 'text_model.encoder.layers.0.mlp.fc1.weight' : 'text_projection.weight';
    throw new UserError(`${dir}: the text tower lacks ${missing}: re-download the model`);
  }
  const act = text.hidden_act ?? 'quick_gelu'; // CLIPTextConfig's default
  if (typeof act !== 'string' || !Object.hasOwn(activations, act)) {
    throw new UserError(`${path} has text_config.hidden_act ${shown(act)} (vitkit runs ${Object.keys(activations).join(', ')}): fix config.json`);
  }
  const eps = text.layer_norm_eps ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) {
    throw new UserError(`${path} has text_config.layer_norm_eps ${shown(eps)} (expected a small positive number): fix config.json`);
  }
  const cfg: ClipTextConfig = {
    vocabSize,
    maxPositions: pos.shape[0]!,
    embedDim,
    depth: blockCount(weights.keys(), /^blocks\.(\d+)\./),
    numHeads: intField(path, text, 'num_attention_heads', 8),
    mlpDim: fc1.shape[0]!,
    layerNormEps: eps,
    mlp: activations[act]!,
    projectionDim: proj.shape[0]!,
    eosTokenId: intField(path, text, 'eos_token_id', 49407),
  };
  checkText(path, text, cfg, weights);
  const scale = hf.get('logit_scale');
  if (!scale || scale.data.length !== 1 || !Number.isFinite(Number(scale.data[0]))) {
    throw new UserError(`${dir}: the weights have no scalar logit_scale (CLIPModel's temperature): re-download the model`);
  }
  return { config: cfg, weights, logitScale: Number(scale.data[0]) };
}

/** text_config's sizes against the weights', then every tensor's shape, and nothing left over. */
function checkText(path: string, text: Record<string, unknown>, cfg: ClipTextConfig, weights: StateDict): void {
  const declared = [
    ['vocab_size', cfg.vocabSize], ['hidden_size', cfg.embedDim], ['num_hidden_layers', cfg.depth],
    ['intermediate_size', cfg.mlpDim], ['max_position_embeddings', cfg.maxPositions],
  ] as const;
  for (const [key, actual] of declared) {
    const v = text[key];
    if (v !== undefined && v !== actual) {
      throw new UserError(`${path} says text_config.${key} ${shown(v)} but the weights have ${actual}: fix config.json or re-download the folder`);
    }
  }
  if (cfg.numHeads < 1 || cfg.embedDim % cfg.numHeads !== 0) {
    throw new UserError(
      `${path} has text_config.num_attention_heads ${cfg.numHeads}, which does not divide the width ${cfg.embedDim}: fix config.json`,
    );
  }
  const shapes = clipTextParameterShapes(cfg);
  for (const [name, shape] of shapes) {
    const t = weights.get(name);
    if (!t) {
      throw new UserError(`${path}: the text tower lacks '${name}' (expected ${formatShape(shape)}): re-download the model`);
    }
    if (t.dtype !== 'float32') {
      throw new UserError(`${path}: text tensor '${name}' is ${t.dtype}, expected float32: convert the checkpoint to float32`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(`${path}: text tensor '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    }
  }
  const extra = [...weights.keys()].find((k) => !shapes.has(k));
  if (extra) {
    throw new UserError(`${path}: unexpected text tensor '${extra}' (vitkit's CLIP text tower has no such part)`);
  }
}
