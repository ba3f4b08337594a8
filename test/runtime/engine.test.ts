// The engine seam: onnxruntime-web's session, which hands preallocated outputs back untouched, must leave a
// TrainSession in the state onnxruntime-node's in-place fetches do. onnxruntime-web's WASM runs in Node too, so this
// checks the copy path without a browser (test/web/train-parity.test.ts checks it in chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ortWeb from 'onnxruntime-web';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { TrainSession } from '../../src/runtime/train-session.ts';
import { webEngine } from '../../src/runtime/web-engine.ts';

const cfg = checkConfig({ ...defaultConfig, imgSize: 8, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 32, numClasses: 3 });

test('webEngine: threads only when cross-origin isolated, at most 4 by default, the WASM backend', async () => {
  const made: object[] = [];
  const fake = {
    Tensor: ortWeb.Tensor,
    env: { wasm: {} as { numThreads?: number } },
    InferenceSession: { create: async (_m: Uint8Array, o?: object) => (made.push(o!), null as never) },
  };
  assert.equal(webEngine(fake, { isolated: false, cores: 8 }).threads, 1);
  assert.equal(fake.env.wasm.numThreads, 1);
  assert.equal(webEngine(fake, { isolated: true, cores: 8 }).threads, 4);
  assert.equal(webEngine(fake, { isolated: true, cores: 8, threads: 2 }).threads, 2);
  assert.equal(fake.env.wasm.numThreads, 2);
  const e = webEngine(fake, { isolated: true, cores: 2 });
  assert.equal(e.fillsFetches, false);
  await e.createSession(new Uint8Array(), { optimization: 'basic' });
  assert.deepEqual(made[0], { executionProviders: ['wasm'], graphOptimizationLevel: 'basic', executionMode: 'sequential', enableMemPattern: false });
});

test('TrainSession on onnxruntime-web (outputs copied in) matches onnxruntime-node (filled in place) step by step', async () => {
  const rng = new Rng(5);
  const x = Float32Array.from({ length: 4 * 64 }, () => rng.normal());
  const y = BigInt64Array.from([0n, 1n, 2n, 1n]);
  const opts = { batch: 4, optimizer: { kind: 'sgd' as const, momentum: 0.9 }, clipNorm: 1 };
  const node = await TrainSession.create(cfg, initParameters(cfg, { seed: 2 }), { ...opts, engine: nodeEngine, threads: 1 });
  const web = await TrainSession.create(cfg, initParameters(cfg, { seed: 2 }), { ...opts, engine: webEngine(ortWeb, { isolated: false }) });
  for (let step = 0; step < 3; step++) {
    const [a, b] = [await node.step(x, y, 0.1), await web.step(x, y, 0.1)];
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
    const [sa, sb] = [node.state(), web.state()];
    for (const [name, t] of sa) {
      const u = sb.get(name)!;
      if (t.dtype === 'int64') assert.deepEqual(u.data, t.data);
      else {
        (t.data as Float32Array).forEach((v, i) =>
          assert.ok(Math.abs(v - (u.data as Float32Array)[i]!) < 1e-5, `step ${step + 1} ${name}[${i}]: ${v} vs ${(u.data as Float32Array)[i]}`),
        );
      }
    }
  }
  const [ea, eb] = [await node.evaluate(x, y), await web.evaluate(x, y)];
  ea.logits.data.forEach((v, i) => assert.ok(Math.abs(v - eb.logits.data[i]!) < 1e-5));
  await node.release();
  await web.release();
});
