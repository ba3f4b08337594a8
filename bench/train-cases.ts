// What the training benchmarks share: their cases, the step graph of any source tree, and one step's feeds.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type ViTConfig, defaultConfig, preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { fashionMnistRecipe } from '../src/train/recipe.ts';

export const cases: Record<string, { readonly config: ViTConfig; readonly batch: number }> = {
  ti16: { config: preset('vit_tiny_patch16_224'), batch: 32 },
  fmnist: { config: { ...defaultConfig, ...fashionMnistRecipe.config }, batch: 128 }, // issue 11's first figure
  'fmnist-main-job': { config: { ...defaultConfig, ...fashionMnistRecipe.config }, batch: fashionMnistRecipe.batch },
  s16: { config: preset('vit_small_patch16_224'), batch: 16 },
};

export function trainCase(name: string): { readonly config: ViTConfig; readonly batch: number } {
  const c = cases[name];
  if (!c) throw new Error(`unknown case '${name}' (expected ${Object.keys(cases).join('|')})`);
  return c;
}

/** The step graph the benchmarks time: AdamW (weight decay 0.05), label smoothing 0.1, clipping at 1, as the reference. */
export const benchStep = { optimizer: { kind: 'adamw', weightDecay: 0.05 }, labelSmoothing: 0.1, clipNorm: 1 } as const;

/** timm VisionTransformer's kwargs for a plain ViT config: the model the PyTorch references (bench/*.py) build. */
export function timmKwargs(c: ViTConfig): Record<string, number> {
  return {
    img_size: c.imgSize, patch_size: c.patchSize, in_chans: c.inChans, embed_dim: c.embedDim,
    depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpDim / c.embedDim, num_classes: c.numClasses,
  };
}

/** The step-graph module of a source tree (src/model/ since it left src/train/, where older trees have it). */
export function stepGraphModule(root: string): string {
  const found = ['src/model/step-graph.ts', 'src/train/step-graph.ts'].map((p) => resolve(root, p)).find((p) => existsSync(p));
  if (!found) throw new Error(`${root} has no src/{model,train}/step-graph.ts`);
  return found;
}

/** Feeds for one step of a step graph: initial parameters, zero optimizer state, scalars, images and labels. */
export function stepFeeds(
  spec: { readonly slots: readonly string[]; readonly scalars: readonly string[] },
  cfg: ViTConfig,
  batch: number,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [n, t] of initParameters(cfg, { seed: 0 })) {
    feeds[n] = new ort.Tensor('float32', t.data as Float32Array, [...t.shape]);
    for (const s of spec.slots) feeds[`${s}.${n}`] = new ort.Tensor('float32', new Float32Array(t.data.length), [...t.shape]);
  }
  // lr 1e-3, bias corrections of step 1 with AdamW's defaults.
  const scalars: Record<string, number> = { lr: 1e-3, bias_correction1: 0.1, bias_correction2: 0.001 };
  for (const n of spec.scalars) feeds[n] = new ort.Tensor('float32', Float32Array.of(scalars[n]!), []);
  feeds['images'] = new ort.Tensor(
    'float32',
    Float32Array.from({ length: batch * cfg.inChans * cfg.imgSize ** 2 }, (_, i) => Math.sin(i)),
    [batch, cfg.inChans, cfg.imgSize, cfg.imgSize],
  );
  feeds['labels'] = new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % cfg.numClasses)), [batch]);
  return feeds;
}
