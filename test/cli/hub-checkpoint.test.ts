// Commands given a Hub id against a local Hub-shaped server, as a new user on a fresh clone would run them: predict
// downloads on first use and gives the fixture's reference logits, then again with HF_HUB_OFFLINE=1 and no socket;
// info and quantize size the downloaded files (not the id), and quantize writes nothing for an input it cannot read;
// serve runs a Hub id in its inference worker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../data/helpers.ts';
import { FIXTURES, expected } from '../fixtures.ts';
import { fixtureRepos, startHubServer } from '../hub/hub-server.ts';
import { post, spawnVitkit } from '../serve/helpers.ts';
import { vitkitAsync } from './run.ts';

const IMAGE = join(FIXTURES, 'micro_p16_224', 'img_0.png');
const reference = expected('micro_p16_224').get('logits')!.data as Float32Array; // [2, 10]: img_0 then img_1
const hub = await startHubServer(fixtureRepos());
const silent = await startHubServer({}); // counts any connection made to it
after(() => Promise.all([hub.close(), silent.close()]));

/** predict's logits for IMAGE, checked against the reference at the fixtures' tolerance (1e-4). */
function assertReferenceLogits(stdout: string): void {
  const { logits } = JSON.parse(stdout) as { logits: number[] };
  assert.equal(logits.length, 10);
  logits.forEach((x, i) => assert.ok(Math.abs(x - reference[i]!) < 1e-4, `logit ${i}: ${x} vs ${reference[i]}`));
}

for (const id of ['google/vit-micro', 'timm/vit_micro_test.in1k']) {
  test(`predict --checkpoint ${id}: downloaded on first use, the reference logits, then the same offline`, async () => {
    const env = { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '' };
    const first = await vitkitAsync(['predict', IMAGE, '--checkpoint', id, '--json', '--logits'], { env });
    assert.equal(first.status, 0, first.stderr);
    assertReferenceLogits(first.stdout);
    assert.match(
      first.stderr,
      new RegExp(`^vitkit: downloaded [\\d.]+ MB of ${id} \\(c0ffee0\\) into .*models--${id.replace('/', '--')}/snapshots/c0ffee`),
    );
    const offline = await vitkitAsync(['predict', IMAGE, '--checkpoint', id, '--json', '--logits'], {
      env: { ...env, HF_HUB_OFFLINE: '1', HF_ENDPOINT: silent.endpoint },
    });
    assert.equal(offline.status, 0, offline.stderr);
    assert.equal(offline.stdout, first.stdout);
    assert.equal(offline.stderr, '');
    assert.equal(silent.connections, 0);
  });
}

test('info and quantize size the files a Hub id resolved to; quantize writes no OUT for an input it cannot load', async () => {
  const env = { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '' };
  const info = await vitkitAsync(['info', 'google/vit-micro', '--json'], { env });
  assert.equal(info.status, 0, info.stderr);
  const dir = join(env.HF_HOME, 'hub', 'models--google--vit-micro', 'snapshots', 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00');
  const size = ['config.json', 'model.safetensors', 'preprocessor_config.json'].reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  assert.deepEqual([JSON.parse(info.stdout).bytes, JSON.parse(info.stdout).format], [size, 'hf']);
  const out = join(tempDir('quantize-hub'), 'int8.safetensors');
  const q = await vitkitAsync(['quantize', 'google/vit-micro', out, '--json'], { env });
  assert.equal(q.status, 0, q.stderr);
  assert.equal(JSON.parse(q.stdout).bytes_in, size);
  const missing = join(tempDir('quantize-hub'), 'never.safetensors');
  const bad = await vitkitAsync(['quantize', 'google/vit-absent', missing], { env });
  assert.match(bad.stderr, /^vitkit: .* has no model google\/vit-absent \(HTTP 404 for revision 'main'\): check the model id\n$/);
  assert.ok(!existsSync(missing));
});

test('vitkit pull ORG/NAME --json: the snapshot folder, its files, the bytes downloaded; nothing the second time', async () => {
  const env = { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '' };
  const first = await vitkitAsync(['pull', 'timm/vit_micro_test.in1k', '--revision', 'main', '--json'], { env });
  assert.equal(first.status, 0, first.stderr);
  const r = JSON.parse(first.stdout);
  assert.deepEqual([r.id, r.revision, r.from_cache, r.files], ['timm/vit_micro_test.in1k', 'main', false, ['config.json', 'model.safetensors']]);
  assert.ok(r.downloaded_bytes > statSync(join(r.dir, 'model.safetensors')).size);
  const second = await vitkitAsync(['pull', 'timm/vit_micro_test.in1k'], { env });
  assert.match(
    second.stdout,
    new RegExp(
      String.raw`^timm\/vit_micro_test\.in1k main \(c0ffee0\): up to date: config\.json, model\.safetensors\n` +
        String.raw`.*snapshots\/c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00\n$`,
    ),
  );
  const usage = await vitkitAsync(['pull'], { env });
  assert.equal(usage.stderr, 'vitkit: pull: give exactly one Hub model id, e.g. vitkit pull google/vit-base-patch16-224\n');
});

test('serve --checkpoint ORG/NAME: the server (and its inference worker) runs the downloaded model', async () => {
  Object.assign(process.env, { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '' });
  const { child, url } = await spawnVitkit(['serve', '--checkpoint', 'google/vit-micro', '--port', '0', '--threads', '1']);
  const r = await post(`${url}/v1/classify?top=3`, readFileSync(IMAGE));
  child.kill('SIGTERM');
  assert.equal(r.status, 200);
  const row = Array.from(reference.subarray(0, 10));
  const z = row.reduce((n, x) => n + Math.exp(x - Math.max(...row)), 0);
  const best = row.map((x, index) => ({ index, prob: Math.exp(x - Math.max(...row)) / z })).sort((a, b) => b.prob - a.prob).slice(0, 3);
  r.json.top.forEach((p: { index: number; prob: number }, i: number) => {
    assert.equal(p.index, best[i]!.index);
    assert.ok(Math.abs(p.prob - best[i]!.prob) < 1e-4);
  });
});
