// What the experiments share (examples/cli.ts): their flags answer --help with the file's header and refuse unknown
// ones in one line, before any work starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = (name: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`../../examples/${name}`, import.meta.url)), ...args], { encoding: 'utf8' });

test('an experiment prints its header for --help and exits 0', () => {
  const r = example('transfer-suite.ts', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^The ViT paper's transfer claims in miniature/);
  assert.match(r.stdout, /Run: npx tsx examples\/transfer-suite\.ts \[--archive PATH\] \[--out DIR\] \[--quick\]/);
  assert.doesNotMatch(r.stdout, /^\/\/|^import /m, 'the header only, without comment markers or code');
});

test('an unknown or incomplete flag is one line naming it, exit code 2', () => {
  for (const [name, args, message] of [
    ['transfer-suite.ts', ['--frob'], /^transfer-suite\.ts: Unknown option '--frob' \(see --help\)$/],
    ['cifar10-compute.ts', ['--epochs'], /^cifar10-compute\.ts: Option '--epochs <value>' argument missing \(see --help\)$/],
    ['cifar10-transfer.ts', ['--quick', 'extra'], /^cifar10-transfer\.ts: .*'extra'.* \(see --help\)$/],
  ] as const) {
    const r = example(name, ...args);
    assert.equal(r.status, 2, `${name} ${args.join(' ')}`);
    assert.match(r.stderr.trim(), message);
  }
});
