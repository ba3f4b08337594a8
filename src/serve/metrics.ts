// A small Prometheus registry (counters, gauges, histograms with labels) rendered in the text exposition
// format 0.0.4. The server needs four metric families; a client library would be more code than this file.

/** Label values by label name, e.g. {route: '/v1/classify', code: '200'}. */
export type Labels = Readonly<Record<string, string>>;

/** The Content-Type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Metric {
  render(): string[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra: Labels = {}): string {
  const all = { ...labels, ...extra };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Prometheus renders +Inf and integers its own way; everything else as a JS number. */
function num(v: number): string {
  return v === Infinity ? '+Inf' : String(v);
}

/** Series keyed by their label set, so one family holds e.g. one counter per route and status code. */
class Series<T> {
  private readonly byKey = new Map<string, { labels: Labels; value: T }>();
  constructor(private readonly init: () => T) {}

  get(labels: Labels): T {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = { labels, value: this.init() }));
    return s.value;
  }

  entries(): { labels: Labels; value: T }[] {
    return [...this.byKey.values()];
  }
}

/** A monotonically increasing count, e.g. requests served. */
export class Counter implements Metric {
  private readonly series = new Series(() => ({ n: 0 }));
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    this.series.get(labels).n += by;
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...this.series.entries().map((s) => `${this.name}${labelText(s.labels)} ${num(s.value.n)}`),
    ];
  }
}

/** A value read when scraped (e.g. the queue depth), so it is never stale. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${num(this.read())}`];
  }
}

/** Observations counted into cumulative buckets (upper bounds, ascending), plus their sum and count. */
export class Histogram implements Metric {
  private readonly series: Series<{ counts: number[]; sum: number; count: number }>;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) throw new Error(`histogram ${name}: buckets must ascend, got ${buckets.join(', ')}`);
    this.series = new Series(() => ({ counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 }));
  }

  observe(value: number, labels: Labels = {}): void {
    const s = this.series.get(labels);
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value } of this.series.entries()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText(labels, { le: num(b) })} ${value.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(labels, { le: '+Inf' })} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${num(value.sum)}`, `${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines;
  }
}

/** The metric families one server exposes, rendered together on GET /metrics. */
export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }

  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}

/** Latency buckets (seconds): a micro model answers in a millisecond, a ViT-L batch on CPU in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/** The inference server's metric families: requests, request latency, batch sizes and times, queue depth. */
export class ServerMetrics {
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  private readonly registry = new Registry();
  private readonly requests = this.registry.add(new Counter('vitkit_requests_total', 'HTTP requests answered, by route and status code.'));
  private readonly latency = this.registry.add(
    new Histogram('vitkit_request_duration_seconds', 'Time from request to reply, by route.', LATENCY_BUCKETS),
  );
  private readonly batchSize = this.registry.add(new Histogram('vitkit_batch_size', 'Images per inference run.', BATCH_BUCKETS));
  private readonly batchTime = this.registry.add(new Histogram('vitkit_batch_duration_seconds', 'Time of one inference run.', LATENCY_BUCKETS));

  /** Exposes the batcher's queue depth, read at each scrape. */
  trackQueue(depth: () => number): void {
    this.registry.add(new Gauge('vitkit_queue_depth', 'Requests waiting for an inference run.', depth));
  }

  observeRequest(route: string, status: number, ms: number): void {
    this.requests.inc({ route, code: String(status) });
    this.latency.observe(ms / 1000, { route });
  }

  observeBatch(size: number, ms: number): void {
    this.batchSize.observe(size);
    this.batchTime.observe(ms / 1000);
  }

  render(): string {
    return this.registry.render();
  }
}
