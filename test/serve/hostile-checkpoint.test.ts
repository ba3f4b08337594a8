// `vitkit serve` refuses a checkpoint that fails the loader's checks at start-up: one line naming the file, exit 1,
// before it listens.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { vitkit } from '../cli/run.ts';
import { pthBytes } from '../weights/pickle-writer.ts';
import { buildZip } from '../weights/zip-builder.ts';
import { MICRO_GRAY } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-serve-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function hostileCheckpoints(): Record<string, string> {
  const loop = join(tmp, 'loop.pth');
  writeFileSync(loop, pthBytes(Buffer.from('80027d710058050000006d6f64656c6800732e', 'hex'))); // {'model': <itself>}
  const bomb = join(tmp, 'bomb.npz');
  writeFileSync(bomb, buildZip([{ name: 'w.npy', data: new Uint8Array(16 * 2 ** 20), deflate: true, size: 100 }]));
  const traversal = join(tmp, 'traversal');
  mkdirSync(traversal);
  copyFileSync(join(MICRO_GRAY, 'config.json'), join(traversal, 'config.json'));
  copyFileSync(join(MICRO_GRAY, 'model.safetensors'), join(tmp, 'elsewhere.safetensors'));
  writeFileSync(
    join(traversal, 'model.safetensors.index.json'),
    JSON.stringify({ weight_map: { 'vit.embeddings.cls_token': '../elsewhere.safetensors' } }),
  );
  return { loop, bomb, traversal };
}

test('serve refuses hostile checkpoints at start-up with a one-line error and exit code 1', () => {
  for (const [what, path] of Object.entries(hostileCheckpoints())) {
    const r = vitkit(['serve', '--checkpoint', path, '--port', '0'], { timeoutMs: 60_000 });
    assert.equal(r.status, 1, `${what}: exit status (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
    assert.ok(lines[0]!.includes(path), `${what}: names the checkpoint: ${lines[0]}`);
    assert.doesNotMatch(r.stdout, /listening/, `${what}: never listened`);
  }
});
