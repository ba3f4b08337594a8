// `vitkit analyze`: every inspection of the paper's Fig. 7 (and rollout examples as in Fig. 6) for one model,
// written as PNGs, the numbers as JSON, and an index.html that ties them together.
import { join } from 'node:path';
import sharp from 'sharp';
import { preprocess } from '../data/preprocess.ts';
import { type Tensor, tensor } from '../graph/tensor.ts';
import { Classifier, type LoadedModel } from '../inference/classifier.ts';
import { dequantizeWeights } from '../model/int8.ts';
import { type ViTConfig, embeddedPrefix, gridSize, tokenStride } from '../model/config.ts';
import { countParameters } from '../model/params.ts';
import { stemConvWeight } from '../model/resnet-v2.ts';
import { assertWritable, writeFileAtomic } from '../weights/atomic-write.ts';
import { AttentionDistanceMeter } from './attention-distance.ts';
import { type Tile, attentionDistanceSpec, chartToPng, imageGridSpec, posEmbedSpec } from './charts.ts';
import { type FilterComponents, filterPCA } from './filter-pca.ts';
import { sampleImages } from './image-sample.ts';
import { displaySize, modelView, overlayPng } from './overlay.ts';
import { posEmbedSimilarity } from './pos-embed-similarity.ts';
import { type ReportFigure, reportHtml } from './report.ts';
import { attentionLayers, attentionMap, readoutOf } from './rollout.ts';

export interface AnalyzeOptions {
  /** Images for attention distance and rollout: a folder of images or a dataset spec (see sampleImages). */
  readonly images?: string;
  /** Images to average attention distance over (default 32). */
  readonly maxImages?: number;
  /** Rollout examples shown (default 8). */
  readonly examples?: number;
  /** Principal components of the embedding filters shown (default 28, as in the paper). */
  readonly components?: number;
  readonly threads?: number;
  /** Replace existing output files. */
  readonly force?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What was written and the numbers behind the pictures. */
export interface AnalysisSummary {
  /** Paths of the files written, index.html last. */
  readonly files: string[];
  readonly images: number;
  /** Mean attention distance in pixels, [layer][head]; absent without images. */
  readonly attentionDistance?: number[][];
  /** Share of the filters' variance along each principal component shown. */
  readonly filterExplained: number[];
  readonly notes: string[];
}

const FILES = {
  distance: 'attention-distance.png',
  rollout: 'attention-rollout.png',
  posEmbed: 'pos-embed-similarity.png',
  filters: 'embedding-filters.png',
  json: 'analysis.json',
  html: 'index.html',
} as const;

/** A component as an RGB (or gray) picture: symmetric scaling, so mid-grey is zero. */
async function componentPng(v: Float64Array, [c, p]: FilterComponents['shape'], side: number): Promise<Buffer> {
  const peak = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
  const hwc = new Uint8Array(p * p * c);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < p * p; i++) hwc[i * c + ch] = Math.round(127.5 + (127.5 * v[ch * p * p + i]!) / peak);
  return sharp(hwc, { raw: { width: p, height: p, channels: c === 1 ? 1 : 3 } })
    .resize(side, side, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/**
 * The filters whose components are shown: those that see pixels. That is the patch projection of a plain ViT, and
 * a hybrid's 7×7 stem convolution (its projection reads feature maps); stored weights, before standardisation.
 */
function pixelFilters(cfg: ViTConfig): string {
  return cfg.backbone ? stemConvWeight(cfg.backbone) : 'patch_embed.proj.weight';
}

async function filterFigure(model: LoadedModel, k: number): Promise<{ png: Buffer; pca: FilterComponents }> {
  const pca = filterPCA(dequantizeWeights(model.config, model.weights).get(pixelFilters(model.config))!, k);
  const p = pca.shape[1];
  const tiles: Tile[] = await Promise.all(
    pca.components.map(async (v, i) => ({ title: `PC ${i + 1}`, png: await componentPng(v, pca.shape, p * Math.ceil(96 / p)) })),
  );
  const share = pca.explained.reduce((a, b) => a + b, 0);
  const kind = pca.shape[0] === 3 ? 'RGB' : `${pca.shape[0]}-channel`;
  const spec = imageGridSpec(tiles, {
    columns: 7,
    tileSize: 48,
    title: `Embedding filters: first ${tiles.length} principal components`,
    subtitle: `${kind} ${p}×${p} filters; ${(100 * share).toFixed(1)}% of their variance`,
  });
  return { png: await chartToPng(spec), pca };
}

/** Stacks [C, S, S] inputs into one [B, C, S, S] batch. */
function stack(inputs: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const per = inputs[0]!.data.length;
  const data = new Float32Array(inputs.length * per);
  inputs.forEach((t, i) => data.set(t.data, i * per));
  return tensor('float32', [inputs.length, ...inputs[0]!.shape], data);
}

interface AttentionFigures {
  readonly distance: number[][];
  readonly images: number;
  readonly distancePng: Buffer;
  readonly rolloutPng: Buffer;
}

/** Runs the model over sample images: attention distance over all, rollout overlays for the first few. */
async function attentionFigures(model: LoadedModel, spec: string, opts: AnalyzeOptions): Promise<AttentionFigures> {
  const cfg = model.config;
  const samples = await sampleImages(spec, opts.maxImages ?? 32);
  const classifier = await Classifier.create(model, { threads: opts.threads, outputs: ['attention'] });
  const meter = new AttentionDistanceMeter(cfg.depth, cfg.numHeads, gridSize(cfg), tokenStride(cfg));
  const examples = opts.examples ?? 8;
  const size = displaySize(cfg.imgSize);
  const tiles: Tile[] = [];
  const batchSize = 8;
  try {
    for (let start = 0; start < samples.length; start += batchSize) {
      const batch = samples.slice(start, start + batchSize);
      const raws = await Promise.all(batch.map((s) => s.load()));
      // Dataset images are stored at their native size: no crop margin unless asked for (as eval does).
      const pre = batch.map((s) => (s.native ? { ...model.preprocess, cropPct: model.preprocess.cropPct ?? 1 } : model.preprocess));
      const layers = attentionLayers(await classifier.run(stack(raws.map((r, i) => preprocess(r, pre[i]!)))), cfg.depth);
      meter.add(layers);
      for (let b = 0; b < batch.length && tiles.length < examples; b++) {
        const map = attentionMap(layers, b, { kind: 'rollout' }, cfg);
        tiles.push({ title: batch[b]!.name, png: await overlayPng(modelView(raws[b]!, pre[b]!), map, size, 'heat') });
      }
      opts.onProgress?.(start + batch.length, samples.length);
    }
  } finally {
    await classifier.release();
  }
  const distance = meter.result();
  const rolloutSpec = imageGridSpec(tiles, {
    columns: Math.min(4, tiles.length),
    tileSize: Math.min(size / 2, 160),
    title: 'Attention rollout',
    subtitle: readoutOf(cfg) === 'class-token'
      ? 'class token → patches, all layers'
      : 'mean over patch tokens (as pooling reads them) → patches, all layers',
  });
  return {
    distance,
    images: meter.count,
    distancePng: await chartToPng(attentionDistanceSpec(distance, cfg.imgSize, meter.count)),
    rolloutPng: await chartToPng(rolloutSpec),
  };
}

/** Analyses `model` into `outDir` (created if missing); existing files are kept unless `force`. */
export async function analyzeModel(model: LoadedModel, outDir: string, opts: AnalyzeOptions = {}): Promise<AnalysisSummary> {
  const cfg = model.config;
  const write = (name: string, data: Uint8Array | string): string => {
    const path = join(outDir, name);
    writeFileAtomic(path, [data], { force: opts.force });
    return path;
  };
  for (const name of Object.values(FILES)) assertWritable(join(outDir, name), { force: opts.force });
  const files: string[] = [];
  const figures: ReportFigure[] = [];
  const notes: string[] = [];
  let attention: AttentionFigures | undefined;
  if (opts.images) {
    attention = await attentionFigures(model, opts.images, opts);
    files.push(write(FILES.distance, attention.distancePng), write(FILES.rollout, attention.rolloutPng));
    figures.push(
      {
        file: FILES.distance,
        title: 'Mean attention distance',
        caption:
          'For each head, the distance in pixels between a query patch and the patches it attends to, weighted by attention ' +
          "(the class token's share left out and the rest renormalised), " +
          `averaged over queries and ${attention.images} images from ${opts.images}. ` +
          "The paper's Fig. 7 (right): some heads attend far already in the lowest layers; the distance grows with depth.",
      },
      {
        file: FILES.rollout,
        title: 'Attention rollout',
        caption:
          'Attention from the ' +
          `${readoutOf(cfg) === 'class-token' ? 'class token' : 'mean over the patch tokens (the model pools by averaging them)'} ` +
          'to the input patches, through all layers: per layer the heads are averaged, the identity added for the residual connection, ' +
          "rows renormalised, and the layers multiplied (the paper's Fig. 6 and App. D.8).",
      },
    );
  } else notes.push('No images given (--images): attention distance and rollout were skipped.');

  const posEmbed = model.weights.get('pos_embed');
  if (posEmbed) {
    const sim = posEmbedSimilarity(posEmbed, embeddedPrefix(cfg));
    files.push(write(FILES.posEmbed, await chartToPng(posEmbedSpec(sim))));
    figures.push({
      file: FILES.posEmbed,
      title: 'Position embedding similarity',
      caption:
        'Cosine similarity between the position embedding of the patch at each row and column ' +
        `and those of all ${sim.grid}×${sim.grid} patches (the paper's Fig. 7, centre). ` +
        'A trained model shows nearby patches alike and row and column structure: the 1-D embeddings have learned the 2-D layout.',
    });
  } else notes.push('No absolute position embeddings (BEiT: relative position bias): the similarity figure was skipped.');

  const filters = await filterFigure(model, opts.components ?? 28);
  if (cfg.backbone) {
    notes.push(
      "Hybrid: the filter components are those of the ResNetV2 stem's 7×7 convolution (stored weights, before weight standardisation), " +
        "the layer that sees pixels; the patch projection reads the backbone's feature map.",
    );
  }
  files.push(write(FILES.filters, filters.png));
  figures.push({
    file: FILES.filters,
    title: 'Patch-embedding filters',
    caption:
      `The first ${filters.pca.components.length} principal components of the ${cfg.embedDim} learned patch-embedding filters, ` +
      "each scaled to its own range with mid-grey at zero (the paper's Fig. 7, left). " +
      'Trained models show plausible basis functions for the fine structure within a patch.',
  });

  const numbers = {
    checkpoint: model.path,
    config: cfg,
    images: attention?.images ?? 0,
    attentionDistance: attention?.distance,
    filterVariance: filters.pca.variance,
    filterExplained: filters.pca.explained,
  };
  files.push(write(FILES.json, `${JSON.stringify(numbers, null, 1)}\n`));
  const grid = gridSize(cfg);
  const facts: [string, string][] = [
    ['parameters', countParameters(cfg).toLocaleString('en-US')],
    cfg.backbone
      ? ['token grid', `${grid}×${grid} feature-map cells of ${tokenStride(cfg)} px at ${cfg.imgSize} px (hybrid)`]
      : ['patch grid', `${grid}×${grid} patches of ${cfg.patchSize} px at ${cfg.imgSize} px`],
    ['images analysed', attention ? `${attention.images} from ${opts.images}` : 'none'],
  ];
  files.push(
    write(FILES.html, reportHtml({ checkpoint: model.path, format: model.format, config: cfg, facts, figures, notes, files: [FILES.json] })),
  );
  return { files, images: attention?.images ?? 0, attentionDistance: attention?.distance, filterExplained: filters.pca.explained, notes };
}
