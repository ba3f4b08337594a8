import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MICRO_GRAY, metricValue, noiseImage, post, spawnVitkit, waitFor } from './helpers.ts';

test('SIGTERM answers the requests already accepted at once, then exits 0 and stops listening', async () => {
  // a long max-wait keeps the requests queued until the signal, so they are surely in flight when it comes
  const { child, url, output } = await spawnVitkit(['serve', '--checkpoint', MICRO_GRAY, '--port', '0', '--threads', '1', '--max-wait-ms', '20000']);
  const img = await noiseImage(5, 48, 40);
  const pending = Array.from({ length: 4 }, () => post(`${url}/v1/classify`, img));
  await waitFor(async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'vitkit_queue_depth') === 4);
  const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, signal) => r([code, signal])));
  const t0 = performance.now();
  child.kill('SIGTERM');
  for (const r of await Promise.all(pending)) {
    assert.equal(r.status, 200);
    assert.equal(r.json.top.length, 5);
  }
  assert.ok(performance.now() - t0 < 10_000, 'the queue ran at shutdown instead of waiting out max-wait');
  assert.deepEqual(await exited, [0, null]);
  assert.match(output(), /SIGTERM: finishing in-flight requests\n[\s\S]*vitkit serve: stopped/);
  await assert.rejects(fetch(`${url}/healthz`), 'no longer listening');
});

test('serve refuses bad flags with one-line errors', async () => {
  await assert.rejects(spawnVitkit(['serve', '--port', '0']), /--checkpoint PATH is required/);
  await assert.rejects(spawnVitkit(['serve', '--checkpoint', MICRO_GRAY, '--max-batch', '0']), /--max-batch must be an integer ≥ 1, got '0'/);
});
