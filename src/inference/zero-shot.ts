// CLIP zero-shot classification: each label becomes a prompt ("This is a photo of {}."), its text embedding is
// compared with each image's embedding by cosine similarity times CLIP's learned scale — transformers' CLIPModel
// `logits_per_image` — and a softmax over the labels ranks them, as transformers' zero-shot-image-classification
// pipeline does. The image tower is the ordinary vitkit model of the folder (loadModel: its image_embeds); the text
// tower is model/clip-text.ts on the same device and precision.
import { preprocessBatch } from '../data/decode.ts';
import { UserError } from '../errors.ts';
import { toOnnx } from '../graph/onnx.ts';
import { type Tensor, tensor } from '../graph/tensor.ts';
import { resolveCheckpointPath } from '../hub/cache.ts';
import { clipTextGraph, clipTextLinearLayers } from '../model/clip-text.ts';
import { quantizeLayers } from '../model/int8.ts';
import type { Device } from '../runtime/session-options.ts';
import { Session } from '../runtime/session.ts';
import { ClipTokenizer } from '../text/clip-tokenizer.ts';
import { type ClipTextCheckpoint, readClipText } from '../weights/clip-text.ts';
import { Classifier, type LoadOptions, type LoadedModel, loadModel } from './classifier.ts';
import { topK } from './top-k.ts';

/** transformers' zero-shot-image-classification pipeline's default `hypothesis_template`. */
export const DEFAULT_TEMPLATE = 'This is a photo of {}.';

export interface ZeroShotLoadOptions extends LoadOptions {
  /** onnxruntime intra-op threads of both towers (default: all cores). */
  readonly threads?: number;
}

/** One label's score for one image. */
export interface ZeroShotPrediction {
  /** The label's position in the list given. */
  readonly index: number;
  readonly label: string;
  /** Softmax over the labels of `logit` (the pipeline's score). */
  readonly prob: number;
  /** exp(logit_scale) · cos(image_embeds, text_embeds): transformers' `logits_per_image` entry. */
  readonly logit: number;
}

/** Labels made ready to score: their prompts and text embeddings (computed once, reused for every image). */
export interface LabelEmbeddings {
  readonly labels: readonly string[];
  /** The template filled with each label. */
  readonly prompts: readonly string[];
  /** [L, E] the prompts' text_embeds (not normalised). */
  readonly embeds: Tensor<'float32'>;
}

/** The template with `{}` replaced by the label; a template without exactly one `{}` is a UserError. */
export function fillTemplate(template: string, label: string): string {
  const parts = template.split('{}');
  if (parts.length !== 2) {
    throw new UserError(`template '${template}' (--template) must contain {} exactly once, where the label goes (e.g. '${DEFAULT_TEMPLATE}')`);
  }
  return parts[0] + label + parts[1];
}

/**
 * logits_per_image [N, L] from image embeddings [N, E] and text embeddings [L, E]: both normalised to unit length,
 * their dot products times exp(logitScale), as CLIPModel.forward computes them.
 */
export function zeroShotLogits(
  images: Tensor<'float32'>,
  texts: Tensor<'float32'>,
  logitScale: number,
): Tensor<'float32'> {
  const [n, e] = images.shape as [number, number];
  const [l, e2] = texts.shape as [number, number];
  if (e !== e2) throw new Error(`zeroShotLogits: image embeddings are ${e} wide, text embeddings ${e2}`);
  const unit = (t: Tensor<'float32'>, rows: number) => Array.from({ length: rows }, (_, r) => {
    const row = t.data.subarray(r * e, (r + 1) * e);
    const norm = Math.hypot(...row);
    return Float64Array.from(row, (v) => v / norm);
  });
  const a = unit(images, n);
  const b = unit(texts, l);
  const scale = Math.exp(logitScale);
  const out = new Float32Array(n * l);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < l; j++) out[i * l + j] = scale * a[i]!.reduce((s, v, k) => s + v * b[j]![k]!, 0);
  }
  return tensor('float32', [n, l], out);
}

/** A CLIPModel's two towers and its tokenizer, ready to classify images among labels given at run time. */
export class ZeroShotClassifier {
  private constructor(
    /** The image tower as vitkit runs any checkpoint: its config, preprocessing, precision. */
    readonly model: LoadedModel,
    /** The text tower's config, weights and logit scale. */
    readonly text: ClipTextCheckpoint,
    readonly tokenizer: ClipTokenizer,
    private readonly images: Classifier,
    private readonly textSession: Session,
  ) {}

  /**
   * Loads a Hugging Face CLIPModel folder (model_type 'clip': config.json with text_config and vision_config,
   * weights with both towers, the tokenizer's vocab.json + merges.txt or tokenizer.json), or a Hub id in the local
   * cache. Anything else (a CLIP image tower alone, a timm file, SigLIP) is a one-line UserError.
   */
  static async load(source: string, opts: ZeroShotLoadOptions = {}): Promise<ZeroShotClassifier> {
    const dir = resolveCheckpointPath(source, opts.revision);
    const text = readClipText(dir);
    const model = loadModel(dir, opts);
    if (!model.config.projectionHead || model.config.numClasses !== text.config.projectionDim) {
      const widths = `image tower's embedding (${model.config.numClasses} wide) and the text tower's (${text.config.projectionDim})`;
      throw new UserError(`${dir}: the ${widths} differ: re-download the model`);
    }
    const tokenizer = ClipTokenizer.fromFolder(dir);
    const images = await Classifier.create(model, { threads: opts.threads, outputs: ['logits'] });
    const int8 = model.precision === 'int8';
    const weights = int8 ? quantizeLayers(text.weights, clipTextLinearLayers(text.config)) : text.weights;
    const graph = clipTextGraph(text.config, weights, ['text_embeds'], { float16: model.precision === 'fp16' });
    const textSession = await Session.create(toOnnx(graph), { threads: opts.threads, device: images.device });
    return new ZeroShotClassifier(model, text, tokenizer, images, textSession);
  }

  /** Where both towers run ('auto' resolved). */
  get device(): Device {
    return this.images.device;
  }

  /** Token ids [L, T] of the texts, each cut to the tower's positions, padded with the pad id to the longest. */
  tokenize(texts: readonly string[]): Tensor<'int64'> {
    if (texts.length === 0) throw new UserError('zero-shot: no labels given: pass at least one');
    const rows = texts.map((t) => this.tokenizer.encode(t, this.text.config.maxPositions));
    const width = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * width).fill(BigInt(this.tokenizer.padId));
    rows.forEach((r, i) => ids.set(r.map(BigInt), i * width));
    return tensor('int64', [rows.length, width], ids);
  }

  /** text_embeds [L, E] of the texts as they are (no template): transformers' CLIPModel.get_text_features. */
  async embedTexts(texts: readonly string[]): Promise<Tensor<'float32'>> {
    const { text_embeds } = await this.textSession.run({ input_ids: this.tokenize(texts) });
    return text_embeds as Tensor<'float32'>;
  }

  /** image_embeds [N, E] of preprocessed images [N, C, S, S] (see `model.preprocess`), or of image files. */
  async embedImages(images: Tensor<'float32'> | readonly string[]): Promise<Tensor<'float32'>> {
    const pixels = isTensor(images) ? images : await preprocessBatch(images, this.model.preprocess);
    const { logits } = await this.images.run(pixels); // the CLIP head's output is image_embeds
    return logits as Tensor<'float32'>;
  }

  /** The labels' prompts (`template` filled with each) and their text embeddings. */
  async embedLabels(labels: readonly string[], template = DEFAULT_TEMPLATE): Promise<LabelEmbeddings> {
    const prompts = labels.map((l) => fillTemplate(template, l));
    return { labels: [...labels], prompts, embeds: await this.embedTexts(prompts) };
  }

  /**
   * For each image, every label ranked by probability (softmax over the labels of logits_per_image). `labels` may
   * be embedded once with embedLabels and reused across calls; given as strings they go through `template`.
   */
  async classify(
    images: Tensor<'float32'> | readonly string[],
    labels: readonly string[] | LabelEmbeddings,
    template = DEFAULT_TEMPLATE,
  ): Promise<ZeroShotPrediction[][]> {
    const texts = isLabelEmbeddings(labels) ? labels : await this.embedLabels(labels, template);
    const logits = zeroShotLogits(await this.embedImages(images), texts.embeds, this.text.logitScale);
    const [n, l] = logits.shape as [number, number];
    return Array.from({ length: n }, (_, i) => {
      const row = logits.data.subarray(i * l, (i + 1) * l);
      return topK(row, l, texts.labels).map((p) => ({ ...p, logit: row[p.index]! }));
    });
  }

  async release(): Promise<void> {
    await this.images.release();
    await this.textSession.release();
  }
}

const isTensor = (x: Tensor<'float32'> | readonly string[]): x is Tensor<'float32'> => !Array.isArray(x);
const isLabelEmbeddings = (x: readonly string[] | LabelEmbeddings): x is LabelEmbeddings => !Array.isArray(x);
