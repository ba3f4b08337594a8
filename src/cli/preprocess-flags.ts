// The flags that state how a model's images are prepared, and its class names, for the commands that write a model
// (convert, quantize, export-onnx): what a checkpoint does not say, or says wrongly, is set as the model is written.
import { readFileSync, statSync } from 'node:fs';
import { resolvePreprocessOptions } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import type { CheckpointContent, Preprocess } from '../weights/checkpoint.ts';
import { interpolationFlag, modelFlags, numberFlag, numberList } from './args.ts';

export const preprocessFlags = {
  mean: modelFlags.mean, std: modelFlags.std, 'crop-pct': modelFlags['crop-pct'], interpolation: modelFlags.interpolation,
  labels: { type: 'string' },
} as const;

export const preprocessFlagsHelp = `
Preprocessing and class names written with the model (default: what IN states):
  --mean a,b,c         normalisation mean (0.5,0.5,0.5 for Google's and timm's augreg ViTs; default ImageNet's)
  --std a,b,c          normalisation std
  --crop-pct F         timm's eval crop: resize the shorter side to size/F, then centre-crop (default 0.875)
  --interpolation M    bicubic|bilinear resizing (default bicubic)
  --labels FILE        class names, one per line in class order`;

type Values = { [K in keyof typeof preprocessFlags]?: string };

/** A class-names file beyond this is not one (a thousand classes take about 20 KB). */
const MAX_LABELS_BYTES = 16 * 2 ** 20;

/** The names in a --labels file: one per line, as many as the head has classes. */
export function labelsFile(path: string, numClasses: number): string[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_LABELS_BYTES) throw new UserError(`--labels ${path} is over 16 MiB: give a text file with one class name per line`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `--labels ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a text file with one class name per line`,
    );
  }
  const names = text.split(/\r?\n/);
  if (names.at(-1) === '') names.pop();
  if (numClasses === 0) throw new UserError(`--labels ${path}: the model has no classifier head, so no classes to name`);
  if (names.length !== numClasses) {
    throw new UserError(
      `--labels ${path} has ${names.length} lines but the model has ${numClasses} classes: give one class name per line, in class order`,
    );
  }
  const empty = names.indexOf('');
  if (empty >= 0) throw new UserError(`--labels ${path}: line ${empty + 1} is empty: give every class a name`);
  return names;
}

/** One line on stderr when neither a checkpoint (timm's bare files) nor the flags say how it normalises images. */
export function noteUnstatedPreprocess(path: string, given: { readonly mean?: unknown; readonly std?: unknown } | undefined): void {
  if (given?.mean !== undefined && given.std !== undefined) return;
  console.error(
    `vitkit: note: ${path} does not say how its images were normalised: ImageNet's mean/std are assumed; ` +
      'if it was trained otherwise, pass --mean/--std (0.5,0.5,0.5 for augreg ViTs), --crop-pct, --interpolation',
  );
}

/**
 * The checkpoint with the flags' preprocessing and class names in place of its own, checked before anything is
 * written; a notice (stderr) when neither the checkpoint nor the flags give its mean and std.
 */
export function withPreprocessFlags<C extends CheckpointContent>(c: C, path: string, v: Values): C {
  const labels = v.labels === undefined ? c.labels : labelsFile(v.labels, c.config.numClasses);
  const stated = c.preprocess;
  noteUnstatedPreprocess(path, stated ?? v);
  if (v.mean === undefined && v.std === undefined && v['crop-pct'] === undefined && v.interpolation === undefined) {
    return { ...c, ...(labels ? { labels } : {}) };
  }
  const cropPct = v['crop-pct'] === undefined ? undefined : numberFlag('crop-pct', v['crop-pct'], 0);
  const interpolation = interpolationFlag(v.interpolation);
  // timm's eval transform unless the checkpoint states another; a crop asks for it, as in predict
  const resize = cropPct !== undefined ? 'shorter-crop' : (stated?.resize ?? 'shorter-crop');
  const o = resolvePreprocessOptions({
    imgSize: stated?.imgSize ?? c.config.imgSize, inChans: c.config.inChans === 1 ? 1 : 3, resize,
    mean: numberList('mean', v.mean) ?? stated?.mean, std: numberList('std', v.std) ?? stated?.std,
    cropPct: cropPct ?? stated?.cropPct, interpolation: interpolation ?? stated?.interpolation,
  });
  const preprocess: Preprocess = {
    ...stated, mean: o.mean, std: o.std, resize,
    ...(cropPct !== undefined ? { cropPct } : {}), ...(interpolation ? { interpolation } : {}),
  };
  return { ...c, preprocess, ...(labels ? { labels } : {}) };
}
