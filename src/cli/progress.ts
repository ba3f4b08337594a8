// Progress bars for long work: drawn on a TTY (stderr), silent otherwise so piped and --json output stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar counting to `total`; `format` may use {bar} {value} {total} {percentage} {eta_formatted} and custom fields. */
export function progressBar(
  label: string,
  total: number,
  format = '{bar} {percentage}% {value}/{total} eta {eta_formatted}',
  enabled = process.stderr.isTTY,
): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} ${format}`, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done, fields) => bar.update(done, fields),
    stop: () => bar.stop(),
  };
}
