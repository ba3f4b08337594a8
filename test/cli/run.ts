// Runs the vitkit CLI as a user would (node bin/vitkit.js …) and captures its output.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/vitkit.js', import.meta.url));

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function vitkit(args: readonly string[], opts: { timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
