// vitkit attention IMAGE --checkpoint PATH --out map.png: where the model looks, overlaid on the image.
import { basename } from 'node:path';
import { chartToPng, imageGridSpec } from '../analysis/charts.ts';
import { OVERLAY_STYLES, type OverlayStyle, displaySize, modelView, overlayPng, viewPng } from '../analysis/overlay.ts';
import { type AttentionMethod, attentionLayers, attentionMap, headMaps, parseAttentionMethod, registerShare } from '../analysis/rollout.ts';
import { decodeImage } from '../data/decode.ts';
import { preprocess } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import { tensor } from '../graph/tensor.ts';
import { Classifier } from '../inference/classifier.ts';
import { assertWritable, writeFileAtomic } from '../weights/atomic-write.ts';
import { modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { loadModelFromFlags } from './load-model.ts';

const help = `
Usage: vitkit attention IMAGE --checkpoint PATH --out map.png [--method rollout|last|head:L:H] [options]

Draws where the model looks: attention from the class token to the input patches, upsampled and overlaid on the
image as the model sees it (after its resize and centre crop), beside the image itself.
  --out PATH           the PNG to write
  --method M           rollout: attention rollout through all layers (heads averaged, identity added for the
                       residual path, rows renormalised, layers multiplied; default)
                       last: the last layer's heads averaged;  head:L:H: layer L, head H (both from 0)
  --heads-out PATH     also write a grid with one map per head of one layer
  --layer L            the layer of --heads-out (from 0; default the last)
  --style heat|mask    heat: colour map over the image (default); mask: the image darkened where attention is low
  --force              overwrite existing output files
  --json               print {"image", "method", "readout", "grid", "map": [grid² weights], "files"}
Models without a class token (or that average their patch tokens) are read out as the mean over the patch tokens
(what mean pooling reads), with a notice.
${modelFlagsHelp}
`;

const options = {
  ...modelFlags,
  out: { type: 'string' },
  method: { type: 'string' },
  'heads-out': { type: 'string' },
  layer: { type: 'string' },
  style: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function methodTitle(m: AttentionMethod): string {
  return m.kind === 'rollout' ? 'attention rollout' : m.kind === 'last' ? 'last layer, heads averaged' : `layer ${m.layer}, head ${m.head}`;
}

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('attention', argv, options, help);
  if (!args) return;
  const { values: v, positionals } = args;
  if (!v.checkpoint || !v.out) throw new UserError('attention: --checkpoint PATH and --out PATH are required (see vitkit attention --help)');
  if (positionals.length !== 1) throw new UserError(`attention: give exactly one image, got ${positionals.length} (see vitkit attention --help)`);
  const style = (v.style ?? 'heat') as OverlayStyle;
  if (!OVERLAY_STYLES.includes(style)) throw new UserError(`unknown style '${v.style}' (expected ${OVERLAY_STYLES.join('|')})`);
  const outputs = [v.out, v['heads-out']].filter((p): p is string => p !== undefined);
  for (const p of outputs) assertWritable(p, { force: v.force });

  const model = await loadModelFromFlags(v.checkpoint, v);
  const cfg = model.config;
  const method = parseAttentionMethod(v.method ?? 'rollout', cfg.depth, cfg.numHeads);
  const layer = numberFlag('layer', v.layer, cfg.depth - 1, { integer: true, min: 0 });
  if (layer >= cfg.depth) throw new UserError(`--layer ${layer} is out of range: the model has layers 0..${cfg.depth - 1}`);
  const image = positionals[0]!;
  const raw = await decodeImage(image);
  const input = preprocess(raw, model.preprocess);
  const classifier = await Classifier.create(model, { threads: threadsFlag(v.threads), outputs: ['attention'] });
  const layers = attentionLayers(await classifier.run(tensor('float32', [1, ...input.shape], input.data)), cfg.depth);
  await classifier.release();

  const map = attentionMap(layers, 0, method, cfg);
  if (map.readout === 'mean-tokens') {
    const why = cfg.classToken ? 'pools by averaging its patch tokens' : 'has no class token';
    console.error(`vitkit: note: ${v.checkpoint} ${why}: showing attention from the mean over the patch tokens (what mean pooling reads) instead`);
  }
  if (cfg.regTokens) {
    const share = registerShare(layers[cfg.depth - 1]!, 0, cfg);
    console.error(
      `vitkit: note: the ${cfg.regTokens} register tokens take ${(100 * share).toFixed(1)}% of the ` +
        `${map.readout === 'class-token' ? "class token's" : "patches'"} attention in the last layer; the map shows the patches only`,
    );
  }
  const view = modelView(raw, model.preprocess);
  const size = displaySize(cfg.imgSize);
  const readout = map.readout === 'class-token' ? 'class token → patches' : 'mean over patch tokens → patches';
  const pair = imageGridSpec(
    [
      { title: 'input', png: await viewPng(view, size) },
      { title: methodTitle(method), png: await overlayPng(view, map, size, style) },
    ],
    { columns: 2, tileSize: size / 2, title: basename(image), subtitle: readout },
  );
  writeFileAtomic(v.out, [await chartToPng(pair)], { force: v.force });
  if (v['heads-out']) {
    const tiles = await Promise.all(
      headMaps(layers[layer]!, 0, cfg).map(async (m, h) => ({ title: `head ${h}`, png: await overlayPng(view, m, size, style) })),
    );
    const columns = Math.min(tiles.length, Math.ceil(Math.sqrt(tiles.length * 1.5)));
    const grid = imageGridSpec(tiles, {
      columns,
      tileSize: Math.min(size / 2, 160),
      title: `${basename(image)}: layer ${layer}, each head`,
      subtitle: readout,
    });
    writeFileAtomic(v['heads-out'], [await chartToPng(grid)], { force: v.force });
  }
  if (v.json) {
    console.log(JSON.stringify({
      image,
      method: v.method ?? 'rollout',
      readout: map.readout,
      grid: map.grid,
      map: Array.from(map.values),
      files: outputs,
    }));
  } else console.log(`wrote ${outputs.join(' and ')} (${methodTitle(method)}, ${readout})`);
}
