// vitkit plot RUN_DIR: training curves from a run's metrics.jsonl as one PNG.
import { dirname, join } from 'node:path';
import { chartToPng, trainingCurvesSpec } from '../analysis/charts.ts';
import { metricsPath, readMetrics } from '../analysis/training-curves.ts';
import { UserError } from '../errors.ts';
import { assertWritable, writeFileAtomic } from '../weights/atomic-write.ts';
import { parseCommand } from './args.ts';

const help = `
Usage: vitkit plot RUN_DIR|metrics.jsonl [--out PATH] [--force] [--json]

Draws a run's training curves: one panel per metric (loss, accuracy, learning rate, throughput…) against the
step (or the epoch when records have no step), one line per series: per-step values, and train/test (or val)
values from the per-epoch records (train_X and test_X fields). Every numeric field is plotted; unreadable lines
(e.g. one being written) are skipped and counted.
  --out PATH   the PNG to write (default: curves.png beside metrics.jsonl)
  --force      overwrite it if it exists
  --json       print {"out", "records", "kinds", "metrics", "skipped"}
`;

const options = { out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('plot', argv, options, help);
  if (!args) return;
  const { values: v, positionals } = args;
  if (positionals.length !== 1) throw new UserError('plot: give one run directory or metrics.jsonl (see vitkit plot --help)');
  const file = metricsPath(positionals[0]!);
  const out = v.out ?? join(dirname(file), 'curves.png');
  assertWritable(out, { force: v.force });
  const curves = readMetrics(file);
  writeFileAtomic(out, [await chartToPng(trainingCurvesSpec(curves, `Training curves: ${file}`))], { force: v.force });
  const summary = { out, records: curves.records, kinds: curves.kinds, metrics: curves.metrics, skipped: curves.skipped };
  if (v.json) console.log(JSON.stringify(summary));
  else {
    const kinds = Object.entries(curves.kinds).map(([k, n]) => `${n} ${k}`).join(', ');
    console.log(
      `wrote ${out}: ${curves.metrics.join(', ')} from ${kinds} records` +
        `${curves.skipped ? ` (${curves.skipped} unreadable lines skipped)` : ''}`,
    );
  }
}
