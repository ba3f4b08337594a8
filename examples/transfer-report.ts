// The transfer suite's results, and the tables and plot made from them (only from them: every README figure of the
// suite is one of these, computed from results.json of the same run).
import type { TopLevelSpec } from 'vega-lite';
import { pct } from './cli.ts';

/** One pre-trained model. */
export interface Upstream {
  readonly id: string;
  readonly arch: string;
  readonly fraction: number;
  readonly images: number;
  readonly command: string;
  /** On the upstream classes' own test split. */
  readonly test_acc: number;
  readonly seconds: number;
  readonly best: string;
}

interface Run {
  readonly test_acc: number;
  readonly command: string;
  readonly seconds: number;
}

export interface TargetResult {
  readonly scratch: readonly {
    readonly arch: string;
    readonly lrs: readonly (Run & { readonly lr: number })[];
    readonly best: number;
  }[];
  readonly runs: readonly {
    readonly upstream: string;
    readonly finetune32: Run;
    readonly finetune24: Run;
    readonly fewshot: {
      readonly results: readonly { shots: number; mean: number; std: number }[];
      readonly command: string;
      readonly seconds: number;
    };
    readonly probe: { readonly test_acc: number; readonly command: string; readonly seconds: number };
  }[];
}

export interface Results {
  readonly quick: boolean;
  readonly machine: string;
  /** Wall time of this invocation (steps reused from an earlier run take no time here). */
  seconds: number;
  /** Every step's own time, reused ones included: what the whole suite takes when run from scratch. */
  step_seconds: number;
  readonly upstream: readonly Upstream[];
  readonly targets: Record<string, TargetResult>;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per upstream model, a value averaged over the targets. */
function perUpstream(r: Results, value: (run: TargetResult['runs'][number]) => number): number[] {
  const targets = Object.values(r.targets);
  return r.upstream.map((_, i) => mean(targets.map((t) => value(t.runs[i]!))));
}

/** Spearman's rank correlation (no ties expected among accuracies of different models; ties get their mean rank). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ranks = (xs: readonly number[]) => xs.map((x) => (xs.filter((y) => y < x).length + xs.filter((y) => y <= x).length + 1) / 2);
  const [ra, rb] = [ranks(a), ranks(b)];
  const [ma, mb] = [mean(ra), mean(rb)];
  const cov = ra.reduce((s, x, i) => s + (x - ma) * (rb[i]! - mb), 0);
  const norm = Math.sqrt(ra.reduce((s, x) => s + (x - ma) ** 2, 0) * rb.reduce((s, x) => s + (x - mb) ** 2, 0));
  return norm ? cov / norm : 0;
}

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const label = (u: Upstream) => `${u.id} (${u.images.toLocaleString('en-US')} images)`;

/** The three tables of the README section, in Markdown. */
export function transferTables(r: Results): string {
  const names = Object.keys(r.targets);
  const targets = Object.values(r.targets);
  const ft32 = perUpstream(r, (x) => x.finetune32.test_acc);
  const ft24 = perUpstream(r, (x) => x.finetune24.test_acc);
  const main = [
    row(['fine-tuned at 32 px, pre-trained on', ...names, 'mean']),
    row(Array(names.length + 2).fill('---')),
    ...r.upstream.map((u, i) => row([label(u), ...targets.map((t) => pct(t.runs[i]!.finetune32.test_acc)), pct(ft32[i]!)])),
    ...targets[0]!.scratch.map((sc, k) => {
      const best = targets.map((t) => t.scratch[k]!.best);
      return row([
        `${sc.arch} from scratch (best of ${sc.lrs.length} learning rate${sc.lrs.length > 1 ? 's' : ''})`,
        ...best.map(pct),
        pct(mean(best)),
      ]);
    }),
  ];
  const gains = targets[0]!.scratch.map((sc, k) => {
    const scratch = mean(targets.map((t) => t.scratch[k]!.best));
    const ups = r.upstream.map((u, i) => [u, ft32[i]!] as const).filter(([u]) => u.arch === sc.arch);
    return (
      `${sc.arch}: fine-tuned minus scratch, mean over targets: ` +
      ups.map(([u, a]) => `${(100 * (a - scratch)).toFixed(1)} pt (${u.fraction * 100}%)`).join(', ')
    );
  });
  const resolution = [
    row(['pre-trained on', 'fine-tuned at 24 px (mean)', 'at 32 px (mean)', '32 px − 24 px']),
    row(Array(4).fill('---')),
    ...r.upstream.map((u, i) => row([label(u), pct(ft24[i]!), pct(ft32[i]!), `${(100 * (ft32[i]! - ft24[i]!)).toFixed(1)} pt`])),
  ];
  const shots = targets[0]!.runs[0]!.fewshot.results.map((f) => f.shots);
  const few = shots.map((_, k) => perUpstream(r, (x) => x.fewshot.results[k]!.mean));
  const probe = perUpstream(r, (x) => x.probe.test_acc);
  const ranking = [
    row(['pre-trained on', ...shots.map((n) => `${n}-shot linear`), 'linear probe (all train images)', 'fine-tuned at 32 px']),
    row(Array(shots.length + 3).fill('---')),
    ...r.upstream.map((u, i) => row([label(u), ...few.map((f) => pct(f[i]!)), pct(probe[i]!), pct(ft32[i]!)])),
  ];
  const rho = shots.map((n, k) => `${n}-shot ${spearman(few[k]!, ft32).toFixed(2)}`).join(', ');
  return [
    main.join('\n'), '', gains.join('\n\n'), '',
    resolution.join('\n'), '',
    ranking.join('\n'), '',
    `Spearman rank correlation with fine-tuning over the ${r.upstream.length} pre-trained models: ${rho}; ` +
      `linear probe ${spearman(probe, ft32).toFixed(2)}.`,
    '',
  ].join('\n');
}

/** Mean target accuracy (fine-tuned at 32 px) against upstream images, a line per architecture, scratch as rules. */
export function transferPlot(r: Results): TopLevelSpec {
  const ft32 = perUpstream(r, (x) => x.finetune32.test_acc);
  const points = r.upstream.map((u, i) => ({ arch: u.arch, images: u.images, accuracy: ft32[i]! }));
  const targets = Object.values(r.targets);
  const scratch = targets[0]!.scratch.map((sc, k) => ({ arch: sc.arch, accuracy: mean(targets.map((t) => t.scratch[k]!.best)) }));
  const color = { field: 'arch', type: 'nominal', title: 'model' } as const;
  return {
    title: { text: 'Low-data transfer (1,000 images per target), mean over 3 targets', subtitle: `dashed: from scratch · ${r.machine}` },
    width: 420,
    height: 280,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: { filled: true, size: 60 } },
        encoding: {
          x: { field: 'images', type: 'quantitative', scale: { type: 'log' }, title: 'pre-training images (CIFAR-10 classes 0–4)' },
          y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, axis: { format: '%' }, title: 'fine-tuned test accuracy' },
          color,
        },
      },
      { data: { values: scratch }, mark: { type: 'rule', strokeDash: [6, 4] }, encoding: { y: { field: 'accuracy', type: 'quantitative' }, color } },
    ],
  } as TopLevelSpec;
}
