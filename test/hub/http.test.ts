// The Hub client's one-line errors and credentials: a private repo without, with a wrong and with the right token
// (HF_TOKEN, the argument, or the file `huggingface-cli login` writes); a missing repo; a Hub that cannot be reached.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pull } from '../../src/hub/pull.ts';
import { tempDir } from '../data/helpers.ts';
import { fixtureRepos, startHubServer } from './hub-server.ts';

const hub = await startHubServer(fixtureRepos());
after(() => hub.close());
const freshEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint, ...extra });

/** An address where nothing listens: a port that was free a moment ago. */
async function deadEndpoint(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

test('a private repo: 401 without a token names HF_TOKEN; a wrong one is refused; the right one reads it', async () => {
  const id = 'acme/vit-micro-private';
  await assert.rejects(
    pull(id, { env: freshEnv() }),
    new RegExp(
      String.raw`^UserError: http:\/\/127\.0\.0\.1:\d+ refused acme\/vit-micro-private at revision 'main' ` +
        String.raw`\(HTTP 401; the repo may not exist\): if it is private or gated, set HF_TOKEN to a token that can read it$`,
    ),
  );
  await assert.rejects(pull(id, { env: freshEnv({ HF_TOKEN: 'hf_wrong' }) }), /HTTP 401.*: the token in HF_TOKEN was refused/);
  const before = hub.requests.length;
  const r = await pull(id, { env: freshEnv({ HF_TOKEN: 'hf_secret' }) });
  const [toCdn, toHub] = [
    hub.requests.slice(before).filter((q) => q.path.startsWith('/cdn/')),
    hub.requests.slice(before).filter((q) => !q.path.startsWith('/cdn/')),
  ];
  assert.ok(toHub.every((q) => q.authorization === 'Bearer hf_secret'));
  assert.ok(toCdn.length && toCdn.every((q) => q.authorization === undefined), 'the token never leaves the Hub');
  assert.equal(r.files.length, 3);
  await pull(id, { env: freshEnv(), token: 'hf_secret' });
  const home = tempDir('hf-login');
  writeFileSync(join(home, 'token'), 'hf_secret\n'); // what `huggingface-cli login` saves
  await pull(id, { env: { HF_HOME: home, HF_ENDPOINT: hub.endpoint } });
});

test('a repo the Hub does not have is a 404 naming it', async () => {
  await assert.rejects(
    pull('google/vit-absent', { env: freshEnv() }),
    /^UserError: http:\/\/127\.0\.0\.1:\d+ has no model google\/vit-absent \(HTTP 404 for revision 'main'\): check the model id$/,
  );
  await assert.rejects(pull('not-an-id', { env: freshEnv() }), /'not-an-id' is not a Hub model id \(expected org\/name/);
});

test('an unreachable Hub names HF_HUB_OFFLINE and the cache folder; a cached snapshot still serves', async () => {
  const env = freshEnv();
  const cached = await pull('google/vit-micro', { env });
  const down = { ...env, HF_ENDPOINT: await deadEndpoint() };
  const hubDir = join(env.HF_HOME!, 'hub');
  await assert.rejects(pull('timm/vit_micro_test.in1k', { env: down }), (e: Error) => {
    assert.equal(
      e.message,
      `cannot reach ${down.HF_ENDPOINT} to download timm/vit_micro_test.in1k (ECONNREFUSED): check the network or HF_ENDPOINT, ` +
        `or set HF_HUB_OFFLINE=1 to use only what is in the cache (${hubDir})`,
    );
    return true;
  });
  const r = await pull('google/vit-micro', { env: down });
  assert.deepEqual([r.dir, r.fromCache], [cached.dir, true]);
});
