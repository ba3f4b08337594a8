// vitkit train --device: a tiny run on WebGPU (SwiftShader without a GPU) writes checkpoints whose weights and
// optimizer state equal a CPU run's within the float32 tolerance of test/runtime/train-session-webgpu.test.ts; a bad
// device is a one-line error before anything is loaded.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { StateDict } from '../../src/graph/tensor.ts';
import { loadTrainCheckpoint } from '../../src/train/checkpoints.ts';
import { writeTinyIdx } from '../data/helpers.ts';
import { needsWebGpu } from '../webgpu.ts';
import { relErr } from '../train/train-step-fixture.ts';
import { vitkit } from './run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vitkit-train-device-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'idx');
writeTinyIdx(data, { train: 16, test: 8, size: 8 });
// SGD with momentum: every element held to the runtime test's tolerance (AdamW's noise elements need their own bound)
const flags = [
  'train', '--data', data, '--patch', '4', '--dim', '16', '--depth', '1', '--heads', '2', '--mlp', '32', '--batch', '4',
  '--steps', '3', '--optimizer', 'sgd', '--lr', '0.05', '--workers', '0', '--threads', '1', '--json',
];

test('vitkit train --device webgpu trains as --device cpu does (checkpoints within float32 rounding)', needsWebGpu, () => {
  const runs = ['cpu', 'webgpu'].map((device) => {
    const out = join(tmp, device);
    const r = vitkit([...flags, '--device', device, '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return { result: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { step: number; test_loss: number }, state: loadTrainCheckpoint(out).state };
  });
  const [cpu, gpu] = runs as [(typeof runs)[0], (typeof runs)[0]];
  assert.equal(gpu.result.step, 3);
  assert.ok(
    Math.abs(gpu.result.test_loss - cpu.result.test_loss) <= 1e-5 * cpu.result.test_loss,
    `test loss ${gpu.result.test_loss} vs ${cpu.result.test_loss}`,
  );
  assert.deepEqual([...gpu.state.keys()], [...cpu.state.keys()]);
  for (const [name, t] of cpu.state) {
    if (t.dtype === 'int64') assert.deepEqual(gpu.state.get(name)!.data, t.data, name);
    // SGD, so no element is AdamW's amplified rounding noise: all within 1e-5 of their tensor's scale, as in the runtime test
    else assert.ok(relErr(gpu.state.get(name)!.data as Float32Array, t.data as Float32Array) <= 1e-5, name);
  }
});

const base = join(tmp, 'base');
const twoBlocks = flags.map((f, i) => (flags[i - 1] === '--depth' ? '2' : f)); // last:1 then caches block 0's output
for (const train of ['head', 'last:1']) {
  test(`vitkit finetune --train ${train} --device webgpu (trained on a cached frozen part) equals --device cpu`, needsWebGpu, () => {
    if (!existsSync(base)) assert.equal(vitkit([...twoBlocks, '--device', 'cpu', '--out', base]).status, 0);
    const ft = ['finetune', '--checkpoint', join(base, 'best.safetensors'), '--data', data, '--train', train, '--batch', '4', '--steps', '4',
      '--optimizer', 'sgd', '--lr', '0.05', '--workers', '0', '--threads', '1', '--json'];
    const [cpu, gpu] = (['cpu', 'webgpu'] as const).map((device) => {
      const out = join(tmp, `${train}-${device}`);
      const r = vitkit([...ft, '--device', device, '--out', out], { timeoutMs: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      // no "… not cached" line: this run trains on a cached frozen part
      assert.doesNotMatch(r.stderr, /not cached/);
      return loadTrainCheckpoint(out).state;
    }) as [StateDict, StateDict];
    assert.deepEqual([...gpu.keys()], [...cpu.keys()]);
    for (const [name, t] of cpu) {
      if (t.dtype === 'int64') assert.deepEqual(gpu.get(name)!.data, t.data, name);
      else assert.ok(relErr(gpu.get(name)!.data as Float32Array, t.data as Float32Array) <= 1e-5, name);
    }
  });
}

test('vitkit train --device: an unknown device, or webgpu without an adapter, is a one-line error before any loading', () => {
  const r = vitkit([...flags, '--device', 'tpu', '--out', join(tmp, 'bad')]);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim(), "vitkit: unknown device 'tpu' (expected cpu|webgpu|auto)");
  const icd = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = join(tmp, 'no-driver.json'); // the child's Vulkan loader finds no driver
  try {
    const none = vitkit(['train', '--data', join(tmp, 'absent'), '--device', 'webgpu', '--out', join(tmp, 'none')]);
    assert.notEqual(none.status, 0);
    // one line: the probe runs in a child process, so the Vulkan loader's and Dawn's own messages become its reason
    assert.match(
      none.stderr.trim(),
      /^vitkit: --device webgpu: no WebGPU adapter: VK_ICD_FILENAMES names \S+no-driver\.json, which does not exist \(.* or use --device cpu\)$/,
    );
    const auto = vitkit([...flags, '--steps', '1', '--device', 'auto', '--out', join(tmp, 'auto')]);
    assert.equal(auto.status, 0, auto.stderr);
  } finally {
    if (icd === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = icd;
  }
});
