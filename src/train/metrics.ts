// metrics.jsonl: one JSON object per logged step ({"kind":"step",…}) and per epoch ({"kind":"epoch",…}),
// appended and flushed line by line so a crash loses nothing already logged.
import { closeSync, openSync, writeSync } from 'node:fs';
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
