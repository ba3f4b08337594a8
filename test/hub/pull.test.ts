// pull() against a local Hub-shaped server: only the files a ViT needs, in huggingface_hub's cache layout, loaded
// as the fixture they came from; a second pull downloads nothing; revisions, sharded and timm repos; a CLIP repo's
// tokenizer files; a cache written the way Python's huggingface_hub writes it is used as is, online and offline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/inference/classifier.ts';
import { pull } from '../../src/hub/pull.ts';
import { ClipTokenizer } from '../../src/text/clip-tokenizer.ts';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES } from '../fixtures.ts';
import { CLIP_TOKENIZER_FILES, COMMIT, fixtureRepos, startHubServer } from './hub-server.ts';

const MICRO = `${FIXTURES}micro_p16_224`;
const repos = fixtureRepos();
const hub = await startHubServer(repos);
after(() => hub.close());

/** A fresh, empty HF_HOME pointed at the test Hub. */
const freshEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, ...extra });
const requestsDuring = async <T>(f: () => Promise<T>): Promise<[T, string[]]> => {
  const before = hub.requests.length;
  const r = await f();
  return [r, hub.requests.slice(before).map((q) => `${q.method} ${q.path}`)];
};
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a transformers repo: config, preprocessor config and weights only, in the huggingface_hub layout', async () => {
  const env = freshEnv();
  const progress: number[] = [];
  const [r, asked] = await requestsDuring(() => pull('google/vit-micro', { env, onProgress: (p) => progress.push(p.done / p.total) }));
  const repo = join(env.HF_HOME!, 'hub', 'models--google--vit-micro');
  assert.equal(r.dir, join(repo, 'snapshots', COMMIT));
  assert.deepEqual([r.commit, r.fromCache, [...r.files].sort()], [COMMIT, false, ['config.json', 'model.safetensors', 'preprocessor_config.json']]);
  assert.ok(!asked.some((a) => /README|tf_model|onnx/.test(a)), `fetched only what it needs: ${asked.join(', ')}`);
  const weights = repos['google/vit-micro']!.files['model.safetensors']!;
  assert.equal(r.downloadedBytes, r.files.reduce((n, f) => n + repos['google/vit-micro']!.files[f]!.length, 0));
  // blobs named by ETag (sha256 for LFS), snapshot entries relative links to them, refs/main naming the commit
  assert.equal(readlinkSync(join(r.dir, 'model.safetensors')), join('..', '..', 'blobs', sha256(weights)));
  assert.match(readlinkSync(join(r.dir, 'config.json')), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
  assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
  assert.equal(progress.at(-1), 1);
  const [byHub, byDir] = [loadModel(r.dir), loadModel(join(MICRO, 'hf'))];
  assert.deepEqual([byHub.format, byHub.labels, byHub.preprocess], [byDir.format, byDir.labels, byDir.preprocess]);
  assert.deepEqual(byHub.weights.get('head.weight')!.data, byDir.weights.get('head.weight')!.data);

  const [again, asked2] = await requestsDuring(() => pull('google/vit-micro', { env }));
  assert.deepEqual([again.dir, again.downloadedBytes], [r.dir, 0]);
  assert.deepEqual(asked2, ['GET /api/models/google/vit-micro/revision/main'], 'a complete snapshot costs one listing');
});

test("a CLIP repo: its tokenizer files too (zero-shot reads them), loaded as the fixture's tokenizer; cached offline", async () => {
  const env = freshEnv();
  const [r, asked] = await requestsDuring(() => pull('openai/clip-micro', { env }));
  const tokenizer = Object.keys(CLIP_TOKENIZER_FILES).sort();
  assert.deepEqual(tokenizer, ['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
  assert.deepEqual([...r.files].sort(), ['config.json', 'model.safetensors', 'preprocessor_config.json', ...tokenizer].sort());
  assert.ok(!asked.some((a) => /README|added_tokens|onnx/.test(a)), `fetched only what it needs: ${asked.join(', ')}`);
  for (const f of tokenizer) assert.deepEqual(readFileSync(join(r.dir, f)), CLIP_TOKENIZER_FILES[f as keyof typeof CLIP_TOKENIZER_FILES], f);
  // the snapshot holds what the fixture's json/ folder does (pad '!'): transformers' ids for that folder
  const tok = ClipTokenizer.fromFolder(r.dir);
  const golden = JSON.parse(readFileSync(new URL('../fixtures/clip-tokenizer/cases.json', import.meta.url), 'utf8')) as {
    pad: { json: number };
    cases: { text: string; maxLength: number; ids: number[]; differs?: { json?: number[] } }[];
  };
  assert.equal(tok.padId, golden.pad.json);
  for (const c of golden.cases) assert.deepEqual(tok.encode(c.text, c.maxLength), c.differs?.json ?? c.ids, c.text);
  const offline = await pull('openai/clip-micro', { env: { ...env, HF_HUB_OFFLINE: '1' } });
  assert.deepEqual([offline.fromCache, [...offline.files].sort()], [true, [...r.files].sort()]);
});

test('a tag resolves to its commit and is recorded in refs/; an unknown revision is a 404 naming it', async () => {
  const env = freshEnv();
  const r = await pull('google/vit-micro', { env, revision: 'v1' });
  assert.equal(readFileSync(join(env.HF_HOME!, 'hub', 'models--google--vit-micro', 'refs', 'v1'), 'utf8'), COMMIT);
  assert.equal((await pull('google/vit-micro', { env, revision: COMMIT })).dir, r.dir);
  await assert.rejects(
    pull('google/vit-micro', { env, revision: 'v9' }),
    /^UserError: .* has no revision 'v9' of google\/vit-micro \(HTTP 404\): check --revision \(a branch, tag or commit\)$/,
  );
  await assert.rejects(pull('google/vit-micro', { env, revision: '../../x' }), /--revision '\.\.\/\.\.\/x' is not a branch, tag or commit name/);
});

test("a timm repo: timm's config.json and model.safetensors (not the .bin), loaded with its pretrained_cfg", async () => {
  const r = await pull('timm/vit_micro_test.in1k', { env: freshEnv() });
  assert.deepEqual([...r.files].sort(), ['config.json', 'model.safetensors']);
  const m = loadModel(r.dir);
  assert.deepEqual([m.format, m.config.numHeads, m.labels[3]], ['timm', 2, 'class 3']);
  assert.deepEqual(
    [m.preprocess.mean, m.preprocess.std, m.preprocess.cropPct, m.preprocess.resize],
    [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 1, 'shorter-crop'],
  );
});

test('an older timm repo with only pytorch_model.bin: that file, read as a PyTorch state dict', async () => {
  const r = await pull('timm/vit_gray_test.bin_only', { env: freshEnv() });
  assert.deepEqual([...r.files].sort(), ['config.json', 'pytorch_model.bin']);
  const [m, ref] = [loadModel(r.dir), loadModel(`${FIXTURES}micro_gray_p4_28/timm.safetensors`, { config: { numHeads: 4 } })];
  assert.deepEqual([m.format, m.config.numHeads, m.config.inChans], ['timm', 4, 1]);
  for (const [name, t] of ref.weights) assert.deepEqual(m.weights.get(name)!.data, t.data, name);
});

test('a sharded repo: the index and every shard it names', async () => {
  const r = await pull('google/vit-micro-sharded', { env: freshEnv() });
  assert.deepEqual([...r.files].sort(), [
    'config.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'model.safetensors.index.json',
    'preprocessor_config.json',
  ]);
  const [sharded, whole] = [loadModel(r.dir), loadModel(join(MICRO, 'hf'))];
  for (const [name, t] of whole.weights) assert.deepEqual(sharded.weights.get(name)!.data, t.data, name);
});

test("a cache written as Python's huggingface_hub writes it is used as is, online and offline", async () => {
  const env = freshEnv();
  const repo = join(env.HF_HOME!, 'hub', 'models--google--vit-micro');
  const snapshot = join(repo, 'snapshots', COMMIT);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repo, 'refs'));
  for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json']) {
    const bytes = repos['google/vit-micro']!.files[f]!;
    const etag = f.endsWith('.safetensors') ? sha256(bytes) : createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    writeFileSync(join(repo, 'blobs', etag), bytes);
    symlinkSync(`../../blobs/${etag}`, join(snapshot, f));
  }
  writeFileSync(join(repo, 'refs', 'main'), COMMIT);
  const [online, asked] = await requestsDuring(() => pull('google/vit-micro', { env }));
  assert.deepEqual([online.dir, online.downloadedBytes, asked.length], [snapshot, 0, 1]);
  const offline = await pull('google/vit-micro', { env: { ...env, HF_HUB_OFFLINE: '1' } });
  assert.deepEqual([offline.dir, offline.fromCache, offline.commit], [snapshot, true, COMMIT]);
});

test('HF_HUB_OFFLINE=1 opens no socket: a complete cache serves, a missing model names the switch', async () => {
  const env = freshEnv();
  await pull('timm/vit_micro_test.in1k', { env });
  const silent = await startHubServer({}); // any connection to it would be counted
  after(() => silent.close());
  const offline = { ...env, HF_ENDPOINT: silent.endpoint, HF_HUB_OFFLINE: '1' };
  const r = await pull('timm/vit_micro_test.in1k', { env: offline });
  assert.equal(loadModel(r.dir).format, 'timm');
  await assert.rejects(
    pull('google/vit-micro', { env: offline }),
    new RegExp(
      String.raw`google\/vit-micro at revision 'main' is not in the Hugging Face cache \(.*models--google--vit-micro\) ` +
        String.raw`and HF_HUB_OFFLINE is set: unset HF_HUB_OFFLINE to download it`,
    ),
  );
  assert.equal(silent.connections, 0);
});
