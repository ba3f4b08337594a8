// A whole inference graph from a config and a state dict: weights as initializers, int8 layers for quantized
// weights, float16 on request, and the attention kernel (plain standard ops, or onnxruntime's fused nodes) chosen
// per precision. The model itself is vit.ts's.
import { type Dim, Graph } from '../graph/graph.ts';
import type { StateDict } from '../graph/tensor.ts';
import type { ViTConfig } from './config.ts';
import { fusedAttention, multiHeadAttention } from './fused-attention.ts';
import { float16Graph } from './fp16.ts';
import { int8Linear, isQuantized } from './int8.ts';
import { foldLayerScale } from './layer-scale.ts';
import { type ViTBuildOptions, buildViT, initializerParams, tokensBefore } from './vit.ts';

export type ViTOutputName = 'logits' | 'pooled' | 'encoded' | 'attention' | 'tokens';

/**
 * How an inference graph computes attention: 'plain' as in training (standard ops; the only one that can output
 * the probabilities), 'fused' as one node with the q/k/v projection inside (com.microsoft Attention, or QAttention
 * for int8 weights), 'mha' as com.microsoft MultiHeadAttention after the model's own q/k/v projection.
 */
export type AttentionKernel = 'plain' | 'fused' | 'mha';

export interface InferenceGraphOptions {
  /** The batch dimension: a number fixes it, a name leaves it free (default 'batch'). */
  readonly batch?: Dim;
  readonly kernel?: AttentionKernel;
  /** Name of the image input (default 'images'; Hugging Face's tools expect 'pixel_values'). */
  readonly input?: string;
  /** Graph names of outputs other than their own ('pooled' as Hugging Face's 'pooler_output', say). */
  readonly outputNames?: Partial<Record<'logits' | 'pooled' | 'encoded', string>>;
  /** Compute in float16 (fp16.ts; float32 weights only): input and outputs stay float32, attention is 'plain'. */
  readonly float16?: boolean;
}

/** The kernel that measured fastest for each precision (bench/attention-kernels.ts). */
export const defaultAttentionKernel: Readonly<Record<'fp32' | 'int8', AttentionKernel>> = { fp32: 'fused', int8: 'fused' };

/**
 * A complete inference graph: input `images` [batch, C, S, S] (batch symbolic unless given) with weights as
 * initializers, and the requested outputs (`attention` and `tokens` expand to `attn.{i}` / `tokens.{i}`).
 * Quantized weights (see int8.ts) give a graph whose linear layers run in int8. Attention uses `opts.kernel`
 * (default: the fastest for the precision) unless the probabilities are asked for.
 */
export function inferenceGraph(
  model: ViTConfig,
  stored: StateDict,
  outputs: readonly ViTOutputName[] = ['logits'],
  opts: InferenceGraphOptions = {},
): Graph {
  const { batch = 'batch', input = 'images', outputNames = {}, float16 = false } = opts;
  const g = new Graph('vit');
  const { cfg, int8, build } = inferenceParts(g, model, stored, outputs.includes('attention') || float16, opts.kernel);
  if (float16 && int8) throw new Error('float16: the weights are int8 (dequantize them first)');
  const images = g.input(input, 'float32', [batch, cfg.inChans, cfg.imgSize, cfg.imgSize]);
  // Class-token pooling reads the class (and distillation) token only, unless every token's output is asked for.
  const firstTokens = cfg.pool === 'token' && outputs.every((o) => o === 'logits' || o === 'pooled');
  const keepTokens = firstTokens ? (cfg.distToken ? 2 : 1) : undefined;
  const v = buildViT(cfg, images, { ...build, keepTokens });
  for (const o of outputs) {
    if (o === 'attention') v.attention.forEach((a, i) => g.output(a, `attn.${i}`));
    else if (o === 'tokens') v.tokens.forEach((t, i) => g.output(t, `tokens.${i}`));
    else if (o === 'logits') {
      if (!v.logits) throw new Error('this model has no head (numClasses 0): ask for pooled features instead');
      g.output(v.logits, outputNames.logits ?? 'logits');
    } else g.output(v[o], outputNames[o] ?? o);
  }
  return float16 ? float16Graph(g) : g;
}

/**
 * A model's frozen prefix as an inference graph: `images` [batch, C, S, S] → `tokens` [batch, T, D], the tokens
 * entering block `block` (what a training graph that starts there reads: step-graph.ts, train/cached-features.ts).
 * float32, with inferenceGraph's kernels.
 */
export function prefixGraph(model: ViTConfig, stored: StateDict, block: number, opts: Pick<InferenceGraphOptions, 'batch' | 'kernel'> = {}): Graph {
  const g = new Graph('vit_prefix');
  // the model as far as block k: the weights above it are neither read nor folded (they may be absent)
  const { cfg, build } = inferenceParts(g, { ...model, depth: Math.min(block, model.depth) }, stored, false, opts.kernel);
  const images = g.input('images', 'float32', [opts.batch ?? 'batch', cfg.inChans, cfg.imgSize, cfg.imgSize]);
  g.output(tokensBefore(cfg, images, block, build), 'tokens');
  return g;
}

/** An inference graph's config and build options: layer scale folded, int8 layers, the attention kernel. */
function inferenceParts(g: Graph, model: ViTConfig, stored: StateDict, plain: boolean, kernel?: AttentionKernel) {
  const { config: cfg, weights } = foldLayerScale(model, stored); // one Mul fewer per residual branch
  const int8 = isQuantized(weights);
  const linear = int8 ? int8Linear(g, weights) : undefined;
  // onnxruntime's kernels take neither BEiT's relative position bias nor its q/v-only bias: BEiT runs 'plain'
  // (nor, in float16, any of onnxruntime's fused kernels: their float16 support differs by provider)
  const chosen = plain || cfg.relPosBias || cfg.qvBias ? 'plain' : (kernel ?? defaultAttentionKernel[int8 ? 'int8' : 'fp32']);
  const attention =
    chosen === 'fused' ? fusedAttention(g, weights, cfg.numHeads)
    : chosen === 'mha' ? multiHeadAttention(cfg.numHeads, cfg.qkvBias)
    : undefined;
  return { cfg, int8, build: { params: initializerParams(g, weights), linear, attention } satisfies ViTBuildOptions };
}
