// Downloading one blob: a connection cut mid-file resumes with Range (in the same run, and from the .incomplete file
// a killed run left), bytes that do not match the Hub's sha256 are refused and not kept, and two downloads of one
// blob at once take turns (a lock left by a dead process goes stale).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pull } from '../../src/hub/pull.ts';
import { tempDir } from '../data/helpers.ts';
import { fixtureRepos, startHubServer } from './hub-server.ts';

const repos = fixtureRepos();
const hub = await startHubServer(repos);
after(() => hub.close());

const weights = repos['google/vit-micro']!.files['model.safetensors']!;
const sha = createHash('sha256').update(weights).digest('hex');
const freshEnv = (): NodeJS.ProcessEnv => ({ HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint });
const blobs = (env: NodeJS.ProcessEnv): string => join(env.HF_HOME!, 'hub', 'models--google--vit-micro', 'blobs');
const cdnGets = (from: number) => hub.requests.slice(from).filter((q) => q.method === 'GET' && q.path === `/cdn/${sha}`);

test('a connection cut mid-file is resumed with Range from where it stopped', async () => {
  const env = freshEnv();
  const before = hub.requests.length;
  hub.cutAfter.set('model.safetensors', 10_000);
  const r = await pull('google/vit-micro', { env });
  assert.deepEqual(cdnGets(before).map((q) => q.range), [undefined, 'bytes=10000-']);
  assert.deepEqual(readFileSync(join(r.dir, 'model.safetensors')), weights);
  assert.ok(!readdirSync(blobs(env)).some((f) => f.endsWith('.incomplete')));
});

test('the .incomplete file a killed run left is continued, not downloaded again', async () => {
  const env = freshEnv();
  mkdirSync(blobs(env), { recursive: true });
  writeFileSync(join(blobs(env), `${sha}.incomplete`), weights.subarray(0, 12_345));
  const before = hub.requests.length;
  const r = await pull('google/vit-micro', { env });
  assert.deepEqual(cdnGets(before).map((q) => q.range), ['bytes=12345-']);
  assert.deepEqual(readFileSync(join(blobs(env), sha)), weights);
  const small = ['config.json', 'preprocessor_config.json'].reduce((n, f) => n + repos['google/vit-micro']!.files[f]!.length, 0);
  assert.equal(r.downloadedBytes, small + weights.length - 12_345);
});

test('a complete .incomplete file (a run stopped before checking it) is checked and kept, not fetched again', async () => {
  const env = freshEnv();
  mkdirSync(blobs(env), { recursive: true });
  writeFileSync(join(blobs(env), `${sha}.incomplete`), weights);
  const before = hub.requests.length;
  const r = await pull('google/vit-micro', { env });
  assert.equal(cdnGets(before).length, 0);
  assert.deepEqual(readFileSync(join(r.dir, 'model.safetensors')), weights);
});

test("bytes that do not hash to the Hub's sha256 are refused, and nothing of them is kept", async () => {
  const env = freshEnv();
  hub.corrupt.add('model.safetensors');
  try {
    await assert.rejects(
      pull('google/vit-micro', { env }),
      new RegExp(
        `^UserError: google/vit-micro file model.safetensors: sha256 [0-9a-f]{64} differs from the Hub's ${sha} ` +
          `\\(corrupted on the way\\): it was not kept; run the command again$`,
      ),
    );
  } finally {
    hub.corrupt.delete('model.safetensors');
  }
  assert.ok(!readdirSync(blobs(env)).some((f) => f.startsWith(sha)), 'neither the blob nor its .incomplete');
  assert.ok(!existsSync(join(env.HF_HOME!, 'hub', 'models--google--vit-micro', 'refs', 'main')), 'the revision is not recorded');
  const r = await pull('google/vit-micro', { env }); // the next run starts clean and succeeds
  assert.deepEqual(readFileSync(join(r.dir, 'model.safetensors')), weights);
});

test('two pulls of one model at once: one downloads each blob, the other waits for it', async () => {
  const env = freshEnv();
  const before = hub.requests.length;
  const [a, b] = await Promise.all([pull('google/vit-micro', { env }), pull('google/vit-micro', { env })]);
  assert.equal(a.dir, b.dir);
  assert.equal(cdnGets(before).length, 1);
  assert.equal(
    a.downloadedBytes + b.downloadedBytes,
    ['config.json', 'model.safetensors', 'preprocessor_config.json'].reduce((n, f) => n + repos['google/vit-micro']!.files[f]!.length, 0),
  );
  assert.deepEqual(readFileSync(join(a.dir, 'model.safetensors')), weights);
  assert.ok(!readdirSync(blobs(env)).some((f) => /\.(incomplete|vitkit-lock)$/.test(f)), 'no partial file or lock left');
});

test('a lock a killed process left behind goes stale and is taken over', async () => {
  const env = freshEnv();
  mkdirSync(blobs(env), { recursive: true });
  const lock = join(blobs(env), `${sha}.vitkit-lock`);
  writeFileSync(lock, '99999');
  const twoMinutesAgo = Date.now() / 1000 - 120;
  utimesSync(lock, twoMinutesAgo, twoMinutesAgo);
  const r = await pull('google/vit-micro', { env });
  assert.deepEqual(readFileSync(join(r.dir, 'model.safetensors')), weights);
  assert.ok(!existsSync(lock));
});
