// Charts as Vega-Lite specs, rendered headless: Vega-Lite compiles to Vega, Vega's View renders SVG without a
// canvas or a display, and sharp (librsvg) rasterises the SVG to PNG. Nothing is fetched: data and images are inline.
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import type { PosEmbedSimilarity } from './pos-embed-similarity.ts';
import type { TrainingCurves } from './training-curves.ts';

/** Shared look: white background, no ARIA labels (they would repeat every inline image in the SVG). */
const config = { aria: false, background: 'white', view: { stroke: null }, title: { fontSize: 14, anchor: 'start' } } as const;

/**
 * Vega, loaded when a chart or an overlay is first drawn rather than with the package (Vega-Lite too, which imports
 * it): its canvas probe (vega-canvas) has a top-level await, and one anywhere in the import graph stops CommonJS
 * projects from `require('vitkit')` (Node's require() of ES modules refuses such graphs).
 */
export const loadVega = (): Promise<typeof import('vega')> => import('vega');

/** Renders a Vega-Lite spec to SVG; `scale` multiplies the pixel size (2 gives crisp PNGs). */
export async function chartToSvg(spec: TopLevelSpec, scale = 2): Promise<string> {
  const [{ View, parse }, { compile }] = await Promise.all([loadVega(), import('vega-lite')]);
  const view = new View(parse(compile({ ...spec, config: { ...config, ...spec.config } } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG(scale);
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes. */
export async function chartToPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(await chartToSvg(spec, scale))).png().toBuffer();
}

/**
 * Scatter of mean attention distance per head against depth (Fig. 7 right); `distances[layer][head]` in pixels.
 * Heads are spread a little around their layer so that equal values stay visible.
 */
export function attentionDistanceSpec(distances: readonly (readonly number[])[], imgSize: number, images: number): TopLevelSpec {
  const depth = distances.length;
  const values = distances.flatMap((heads, l) =>
    heads.map((distance, h) => ({ layer: l + 1 + (heads.length > 1 ? 0.5 * (h / (heads.length - 1) - 0.5) : 0), head: h + 1, distance })),
  );
  return {
    title: { text: 'Mean attention distance per head', subtitle: `over ${images} image${images === 1 ? '' : 's'} at ${imgSize} px` },
    data: { values },
    width: Math.max(240, 32 * depth),
    height: 260,
    mark: { type: 'point', filled: true, size: 50, opacity: 0.85 },
    encoding: {
      x: {
        field: 'layer',
        type: 'quantitative',
        title: 'Network depth (layer)',
        scale: { domain: [0.5, depth + 0.5], nice: false },
        axis: { values: Array.from({ length: depth }, (_, i) => i + 1), format: 'd', grid: false },
      },
      y: { field: 'distance', type: 'quantitative', title: 'Mean attention distance (pixels)', scale: { zero: true } },
      color: { field: 'head', type: 'ordinal', title: 'Head', scale: { scheme: 'turbo' } },
    },
  };
}

/** Largest number of patch rows/columns drawn as small heatmaps; bigger grids show every k-th patch. */
const MAX_OUTER = 16;

/**
 * The grid of small heatmaps of Fig. 7 centre: the tile at (row, column) shows that patch's similarity with every
 * patch. Drawn as one rect layer with the tiles laid side by side, which renders far faster than a facet per patch.
 */
export function posEmbedSpec(sim: PosEmbedSimilarity, title = 'Position embedding similarity'): TopLevelSpec {
  const g = sim.grid;
  const n = g * g;
  const stride = Math.ceil(g / MAX_OUTER);
  const outer = Array.from({ length: Math.ceil(g / stride) }, (_, i) => i * stride);
  const cell = g + 1; // a tile and its one-cell gap
  const values: { x: number; y: number; v: number }[] = [];
  outer.forEach((r, ro) =>
    outer.forEach((c, co) => {
      const row = (r * g + c) * n;
      for (let k = 0; k < n; k++) values.push({ x: co * cell + (k % g), y: ro * cell + Math.floor(k / g), v: sim.values[row + k]! });
    }),
  );
  const extent = outer.length * cell - 1;
  const centres = outer.map((_, i) => i * cell + g / 2);
  const axis = (t: string) => ({
    title: t,
    values: centres,
    labelExpr: `'' + (floor(datum.value / ${cell}) * ${stride} + 1)`,
    grid: false,
    ticks: false,
    domain: false,
  });
  const scale = { domain: [0, extent], nice: false, zero: false };
  return {
    title: { text: title, subtitle: `${g}×${g} patches${stride > 1 ? `, every ${stride}th row and column shown` : ''}` },
    data: { values },
    transform: [
      { calculate: 'datum.x + 1.04', as: 'x2' }, // a hair of overlap hides antialiasing seams
      { calculate: 'datum.y + 1.04', as: 'y2' },
    ],
    width: 480,
    height: 480,
    mark: { type: 'rect', strokeWidth: 0 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale, axis: axis('Input patch column') },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative', scale: { ...scale, reverse: true }, axis: axis('Input patch row') },
      y2: { field: 'y2' },
      color: { field: 'v', type: 'quantitative', title: 'Cosine similarity', scale: { scheme: 'viridis', domain: [-1, 1] } },
    },
  };
}

/** One titled picture of an image grid. */
export interface Tile {
  readonly title: string;
  readonly png: Buffer;
}

/** Images (overlays, filters) in a titled grid, `tileSize` units per side, in the given order. */
export function imageGridSpec(tiles: readonly Tile[], opts: { columns: number; tileSize: number; title?: string; subtitle?: string }): TopLevelSpec {
  const s = opts.tileSize;
  const values = tiles.map((t, index) => ({ index, url: `data:image/png;base64,${t.png.toString('base64')}` }));
  // Faceting by position (titles may repeat, e.g. the same file name in two class folders), labelled by title.
  const labelExpr = `${JSON.stringify(tiles.map((t) => t.title))}[datum.value]`;
  return {
    ...(opts.title ? { title: { text: opts.title, subtitle: opts.subtitle ?? '' } } : {}),
    data: { values },
    columns: opts.columns,
    facet: { field: 'index', type: 'ordinal', title: null, header: { labelExpr, labelFontSize: 11, labelPadding: 4 } },
    spacing: 8,
    spec: {
      width: s,
      height: s,
      mark: { type: 'image', width: s, height: s, aspect: false, align: 'left', baseline: 'top' },
      encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
    },
  };
}

/**
 * A confusion matrix: rows are true classes, columns predictions; colour is the row-normalised share, text the
 * count (when the matrix is small enough to read). `confusion[t·K + p]` counts for K = labels.length classes; classes
 * that are neither a label nor a prediction are left out (a 1000-class head evaluated on 10 classes shows ~10).
 */
export function confusionSpec(confusion: Int32Array, labels: readonly string[]): TopLevelSpec {
  const k = labels.length;
  const shown = labels.map((_, i) => i).filter((i) => labels.some((_, j) => confusion[i * k + j]! > 0 || confusion[j * k + i]! > 0));
  // Duplicate names would merge rows; prefix indices then.
  const names = new Set(shown.map((i) => labels[i])).size === shown.length ? shown.map((i) => labels[i]!) : shown.map((i) => `${i} ${labels[i]}`);
  const values = shown.flatMap((t, ti) => {
    const rowTotal = shown.reduce((s, p) => s + confusion[t * k + p]!, 0);
    return shown.map((p, pi) => {
      const count = confusion[t * k + p]!;
      return { truth: names[ti], predicted: names[pi], count, share: rowTotal ? count / rowTotal : 0 };
    });
  });
  const total = values.reduce((s, v) => s + v.count, 0);
  const correct = shown.reduce((s, i) => s + confusion[i * k + i]!, 0);
  const step = Math.max(10, Math.min(40, Math.floor(640 / shown.length)));
  const withText = shown.length <= 30;
  return {
    title: { text: 'Confusion matrix', subtitle: `${total} images, ${((100 * correct) / Math.max(total, 1)).toFixed(2)}% on the diagonal` },
    data: { values },
    width: { step },
    height: { step },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: names, title: 'Predicted class', axis: { labelAngle: -45, orient: 'top' } },
      y: { field: 'truth', type: 'ordinal', sort: names, title: 'True class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: { color: { field: 'share', type: 'quantitative', title: 'Share of row', scale: { scheme: 'blues', domain: [0, 1] } } },
      },
      ...(withText
        ? [
            {
              transform: [{ filter: 'datum.count > 0' }],
              mark: { type: 'text' as const, fontSize: Math.min(11, step / 3) },
              encoding: {
                text: { field: 'count', type: 'quantitative' as const },
                color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
              },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

/** Training curves: one panel per metric against step (or epoch), one line per series (per step, train, test…). */
export function trainingCurvesSpec(curves: TrainingCurves, title: string): TopLevelSpec {
  const panels = curves.metrics.map((metric) => ({
    title: metric,
    width: 360,
    height: 200,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: curves.xField },
      y: { field: 'value', type: 'quantitative' as const, title: metric, scale: { zero: false } },
      color: { field: 'series', type: 'nominal' as const, title: 'Series' },
    },
    layer: [
      { mark: { type: 'line' as const, strokeWidth: 1.5, clip: true } },
      // Per-epoch values are few: mark each one.
      { transform: [{ filter: 'datum.dense === false' }], mark: { type: 'point' as const, filled: true, size: 30 } },
    ],
  }));
  return {
    title: { text: title, subtitle: `${curves.records} records` },
    data: { values: curves.points as unknown as Record<string, unknown>[] },
    columns: 2,
    concat: panels,
  } as TopLevelSpec;
}
