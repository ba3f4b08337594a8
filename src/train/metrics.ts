// metrics.jsonl: one JSON object per logged step ({"kind":"step",…}) and per epoch ({"kind":"epoch",…}),
// appended and flushed line by line so a crash loses nothing already logged.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class MetricsLog {
  private readonly fd: number;

  constructor(outDir: string) {
    this.fd = openSync(join(outDir, 'metrics.jsonl'), 'a');
  }

  write(record: Record<string, unknown>): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The last test evaluation a run's metrics.jsonl holds; undefined when there is none (or no log). */
export function lastEvaluation(outDir: string): { readonly loss: number; readonly acc: number } | undefined {
  const file = join(outDir, 'metrics.jsonl');
  if (!existsSync(file)) return undefined;
  let last: { loss: number; acc: number } | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // an empty or cut-off line (a crash mid-write) holds nothing to report
    }
    const { kind, test_loss: loss, test_acc: acc } = r;
    if (kind === 'epoch' && typeof loss === 'number' && typeof acc === 'number') last = { loss, acc };
  }
  return last;
}
