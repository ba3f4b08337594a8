// Runs the vitkit CLI as a user would (vitkit …) and captures its output.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Node's arguments that start the CLI from its TypeScript sources: the tests check the code as it is, not a
 * dist/ build that may be older (test/package checks the built package).
 */
export const VITKIT_ARGV: readonly string[] = ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))];

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function vitkit(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const env = opts.env && { ...process.env, ...opts.env };
  const r = spawnSync(process.execPath, [...VITKIT_ARGV, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * vitkit in a child process without blocking this one (spawnSync would freeze a server the test runs in-process),
 * with `env` added to this process's environment.
 */
export function vitkitAsync(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...VITKIT_ARGV, ...args], { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
