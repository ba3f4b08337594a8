// Training curves from a run's metrics log (JSON lines). Tolerant by design: the log is read while training appends
// to it and its fields grow over time, so every numeric field of every record kind is plotted and bad lines skipped.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';

/** One plotted value. */
export interface CurvePoint {
  readonly metric: string;
  readonly series: string;
  readonly x: number;
  readonly value: number;
  /** Part of a long series (drawn as a line only; short ones get a marker per point). */
  readonly dense: boolean;
}

/** What a metrics log holds, ready to chart. */
export interface TrainingCurves {
  /** The x axis: `step` when every record has one, else `epoch`, else the record's position. */
  readonly xField: 'step' | 'epoch' | 'record';
  /** Panel order: loss, accuracy, learning rate, then the rest alphabetically. */
  readonly metrics: string[];
  readonly points: CurvePoint[];
  readonly records: number;
  /** Records per `kind` (a record without one counts as 'record'). */
  readonly kinds: Record<string, number>;
  /** Lines that were not JSON objects (e.g. a line being written). */
  readonly skipped: number;
}

/** Fields that place a record rather than measure something. */
const PLACEMENT = new Set(['kind', 'step', 'epoch', 'time']);
/** `train_loss` → series train, metric loss. */
const SPLIT_PREFIX = /^(train|test|val|valid|eval)_(.+)$/;
const FIRST = ['loss', 'acc', 'accuracy', 'top1', 'top5', 'lr'];
/** Series longer than this are drawn without markers, and averaged down to at most MAX_POINTS. */
const DENSE = 60;
const MAX_POINTS = 1000;

type Row = Record<string, unknown>;

function parseLines(text: string): { rows: Row[]; skipped: number } {
  const rows: Row[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r: unknown = JSON.parse(line);
      if (r && typeof r === 'object' && !Array.isArray(r)) rows.push(r as Row);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { rows, skipped };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Averages consecutive points so that at most `max` remain. */
function thin(points: { x: number; value: number }[], max: number): { x: number; value: number }[] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: { x: number; value: number }[] = [];
  for (let i = 0; i < points.length; i += size) {
    const chunk = points.slice(i, i + size);
    out.push({ x: chunk.reduce((s, p) => s + p.x, 0) / chunk.length, value: chunk.reduce((s, p) => s + p.value, 0) / chunk.length });
  }
  return out;
}

/**
 * Parses a metrics log. Each numeric field becomes a series: `train_X` / `test_X` / `val_X` go to metric X as
 * series train / test / val; any other field X goes to metric X with its record kind as the series. A field that
 * several kinds log unprefixed (say `lr` per step and per epoch) is drawn once, from the kind that logs it most.
 */
export function parseMetrics(text: string): TrainingCurves {
  const { rows, skipped } = parseLines(text);
  const xField = rows.every((r) => isNum(r.step)) ? 'step' : rows.every((r) => isNum(r.epoch)) ? 'epoch' : 'record';
  const kinds: Record<string, number> = {};
  const series = new Map<string, { metric: string; series: string; fromKind: boolean; points: { x: number; value: number }[] }>();
  rows.forEach((r, i) => {
    const kind = typeof r.kind === 'string' ? r.kind : 'record';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const x = xField === 'record' ? i : (r[xField] as number);
    for (const [field, value] of Object.entries(r)) {
      if (PLACEMENT.has(field) || !isNum(value)) continue;
      const m = SPLIT_PREFIX.exec(field);
      const [metric, name] = m ? [m[2]!, m[1]!] : [field, kind === 'step' ? 'per step' : kind];
      const key = `${metric}\u0000${name}`;
      if (!series.has(key)) series.set(key, { metric, series: name, fromKind: !m, points: [] });
      series.get(key)!.points.push({ x, value });
    }
  });
  const all = [...series.values()];
  const kept = all.filter(
    (s) => !s.fromKind || !all.some((o) => o !== s && o.fromKind && o.metric === s.metric && o.points.length > s.points.length),
  );
  const points = kept.flatMap((s) => {
    const dense = s.points.length > DENSE;
    return thin(s.points, MAX_POINTS).map((p) => ({ metric: s.metric, series: s.series, x: p.x, value: p.value, dense }));
  });
  const rank = (m: string): number => (FIRST.includes(m) ? FIRST.indexOf(m) : FIRST.length);
  const metrics = [...new Set(kept.map((s) => s.metric))].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return { xField, metrics, points, records: rows.length, kinds, skipped };
}

/** The metrics log of a run: `path` is the run directory (holding metrics.jsonl) or the log file itself. */
export function metricsPath(path: string): string {
  if (!existsSync(path)) throw new UserError(`${path}: no such file or directory: pass a run directory or its metrics.jsonl`);
  if (!statSync(path).isDirectory()) return path;
  const file = join(path, 'metrics.jsonl');
  if (!existsSync(file)) throw new UserError(`${path}: no metrics.jsonl in this directory: pass a training run's output directory`);
  return file;
}

/** Reads and parses a run's metrics log; a log without a single numeric value is a UserError. */
export function readMetrics(path: string): TrainingCurves {
  const file = metricsPath(path);
  const curves = parseMetrics(readFileSync(file, 'utf8'));
  if (curves.points.length === 0) {
    throw new UserError(
      `${file}: no numeric metrics in ${curves.records} records (${curves.skipped} unreadable lines): is this a vitkit metrics log?`,
    );
  }
  return curves;
}
