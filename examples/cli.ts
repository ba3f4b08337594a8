// What the example experiments share: running `vitkit` commands (echoed, so every experiment can be repeated by
// hand) with --json, and the CIFAR-10 JPEG archive extracted once into the experiment's directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { Rng } from '../src/rng.ts';

export const root = resolve(import.meta.dirname, '..');
export const defaultArchive = join(root, '../shared/datasets/cifar10-jpeg.tar.gz');

/**
 * An experiment's flags, as its file's header describes them: `--help` prints that header and exits, and a flag it
 * does not take is one line naming it (exit code 2), as with the vitkit commands.
 */
export function exampleFlags<const O extends NonNullable<ParseArgsConfig['options']>>(file: string, options: O) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    const header = readFileSync(fileURLToPath(file), 'utf8').split('\n');
    console.log(header.slice(0, header.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, strict: true }).values;
  } catch (e) {
    console.error(`${basename(fileURLToPath(file))}: ${(e as Error).message.split('\n')[0]} (see --help)`);
    process.exit(2);
  }
}

export interface Step {
  /** The command's JSON lines (per epoch, then the result). */
  readonly json: Record<string, unknown>[];
  readonly seconds: number;
  /** The command as a user would type it. */
  readonly command: string;
}

/** The final summary line of a train/finetune command. */
export interface RunResult {
  readonly test_acc: number;
  readonly best: string;
  readonly best_test_acc: number;
}

/**
 * A runner of vitkit commands from this checkout's sources, with `out/cache` as the model cache. A command with
 * `--out DIR` records its step in DIR/step.json, and a later run of the experiment reuses that record when the
 * command is the same, so an interrupted experiment continues where it stopped.
 */
export function vitkitRunner(out: string): (args: string[]) => Step {
  return (args) => {
    const command = `vitkit ${args.join(' ')}`;
    const runDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
    const record = runDir && join(runDir, 'step.json');
    if (record && existsSync(record)) {
      const done = JSON.parse(readFileSync(record, 'utf8')) as Step;
      if (done.command === command) {
        console.log(`$ ${command}   # done before: ${record}`);
        return done;
      }
    }
    console.log(`$ ${command}`);
    const start = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, VITKIT_CACHE_DIR: join(out, 'cache') },
    });
    if (r.status !== 0) throw new Error(`vitkit ${args[0]} failed (exit ${r.status}); see its message above`);
    const json = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const step = { json, seconds: (performance.now() - start) / 1000, command };
    if (record) writeFileSync(record, `${JSON.stringify(step)}\n`);
    return step;
  };
}

/** The result line of a train or finetune step. */
export const result = (s: Step): RunResult => {
  const r = s.json.find((j) => j.kind === 'result');
  if (!r) throw new Error(`${s.command} printed no result line`);
  return r as unknown as RunResult;
};

/** CIFAR-10's class folders (train/, test/) under `out/data`, extracted from the archive on first use. */
export function extractCifar(archive: string, out: string): string {
  const cifar = join(out, 'data/cifar10');
  if (existsSync(join(cifar, 'test'))) return cifar;
  if (!existsSync(archive)) throw new Error(`${archive}: no such file: pass --archive PATH to the CIFAR-10 JPEG archive`);
  mkdirSync(join(out, 'data'), { recursive: true });
  const r = spawnSync('tar', ['-xzf', archive, '-C', join(out, 'data')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tar could not extract ${archive}`);
  return cifar;
}

/** `n` of `items`, drawn without replacement by a seeded shuffle, then sorted (a stable listing). */
export function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  const rng = new Rng(seed);
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/**
 * An ImageFolder (train/ + test/) of the given classes, as symlinks into the extracted CIFAR-10 folders, with at most
 * `perClass[split]` images of each class (all when absent): the first ones by file name, or with `seed` a seeded draw.
 */
export function classSubset(
  cifar: string,
  dir: string,
  classes: readonly string[],
  perClass?: { train?: number; test?: number },
  seed?: number,
): string {
  rmSync(dir, { recursive: true, force: true });
  for (const split of ['train', 'test'] as const) {
    const limit = perClass?.[split];
    for (const c of classes) {
      const src = join(cifar, split, c);
      const dst = join(dir, split, c);
      mkdirSync(dst, { recursive: true });
      const files = readdirSync(src).sort();
      const picked = seed === undefined ? files.slice(0, limit) : sample(files, limit ?? files.length, seed);
      for (const f of picked) symlinkSync(join(src, f), join(dst, f));
    }
  }
  return dir;
}

export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
export const time = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
