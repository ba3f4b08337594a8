// --device on the command line: webgpu gives the CPU's predictions, auto picks WebGPU where SwiftShader is the
// driver and the CPU (with a note) where the named driver is missing, and a webgpu that cannot be had is one line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES } from '../fixtures.ts';
import { probeWebGpu } from '../../src/runtime/devices.ts';
import { assertWebGpu, needsWebGpu } from '../webgpu.ts';
import { vitkit } from './run.ts';

const hf = `${FIXTURES}micro_p16_224/hf`;
const images = [`${FIXTURES}micro_p16_224/img_0.png`, `${FIXTURES}micro_p16_224/img_1.png`];
const missingDriver = { VK_ICD_FILENAMES: '/nonexistent/vulkan_icd.json' };

interface Line {
  device: string;
  logits: number[];
}

function predict(device: string, env?: NodeJS.ProcessEnv): { lines: Line[]; stderr: string } {
  const r = vitkit(['predict', ...images, '--checkpoint', hf, '--json', '--logits', '--device', device], { env, timeoutMs: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return { lines: r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line), stderr: r.stderr };
}

test('predict --device webgpu gives the logits of --device cpu', needsWebGpu, () => {
  assertWebGpu();
  const cpu = predict('cpu').lines;
  const gpu = predict('webgpu').lines;
  assert.deepEqual([...cpu, ...gpu].map((l) => l.device), ['cpu', 'cpu', 'webgpu', 'webgpu']);
  // the tolerance of test/inference/webgpu.test.ts (float32 on both, reduced in different orders)
  gpu.forEach((l, i) => l.logits.forEach((x, j) => assert.ok(Math.abs(x - cpu[i]!.logits[j]!) < 1e-4, `image ${i} class ${j}`)));
});

test('predict --device auto picks webgpu where an adapter is found', needsWebGpu, () => {
  assertWebGpu();
  assert.deepEqual(predict('auto').lines.map((l) => l.device), ['webgpu', 'webgpu']);
});

test('auto falls back to the CPU with a note when the driver is missing; webgpu is a one-line error', () => {
  const auto = predict('auto', missingDriver);
  assert.deepEqual(auto.lines.map((l) => l.device), ['cpu', 'cpu']);
  assert.match(
    auto.stderr,
    /device auto: running on the CPU, no WebGPU adapter: VK_ICD_FILENAMES names \/nonexistent\/vulkan_icd\.json, which does not exist/,
  );

  const r = vitkit(['predict', images[0]!, '--checkpoint', hf, '--device', 'webgpu'], { env: missingDriver });
  assert.notEqual(r.status, 0);
  assert.deepEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^vitkit: --device webgpu: no WebGPU adapter: VK_ICD_FILENAMES names .* \(point VK_ICD_FILENAMES at .*; or use --device cpu\)$/m,
  );

  const bad = vitkit(['eval', '--checkpoint', hf, '--data', 'x', '--device', 'gpu']);
  assert.match(bad.stderr, /unknown device 'gpu' \(expected cpu\|webgpu\|auto\)/);
});

test('info --devices lists the CPU and the WebGPU adapter, or why there is none', () => {
  const missing = vitkit(['info', '--devices', '--json'], { env: missingDriver });
  assert.equal(missing.status, 0, missing.stderr);
  const out = JSON.parse(missing.stdout) as {
    cpu: { cores: number };
    webgpu: { available: boolean; reason: string; fix: string; drivers: unknown[] };
  };
  assert.ok(out.cpu.cores >= 1);
  assert.equal(out.webgpu.available, false);
  assert.match(out.webgpu.reason, /VK_ICD_FILENAMES names \/nonexistent\/vulkan_icd\.json/);
  assert.deepEqual(out.webgpu.drivers, [{ manifest: '/nonexistent/vulkan_icd.json', library: '', exists: false }]);
  const text = vitkit(['info', '--devices'], { env: missingDriver }).stdout;
  assert.match(text, /^webgpu {2}not available: VK_ICD_FILENAMES names/m);
  assert.match(text, /^ {8}fix: /m);
});

test('info --devices finds the adapter and whether f16 shaders run', needsWebGpu, () => {
  assertWebGpu();
  const r = vitkit(['info', '--devices', '--json']);
  const out = JSON.parse(r.stdout) as { webgpu: { available: boolean; fp16: boolean } };
  assert.equal(out.webgpu.available, true);
  assert.equal(typeof out.webgpu.fp16, 'boolean');
});

test('export-onnx --device webgpu writes attention from standard ops; the default uses com.microsoft Attention', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-export-'));
  const [cpu, gpu] = [join(dir, 'cpu.onnx'), join(dir, 'webgpu.onnx')];
  assert.equal(vitkit(['export-onnx', hf, cpu]).status, 0);
  assert.equal(vitkit(['export-onnx', hf, gpu, '--device', 'webgpu']).status, 0);
  assert.ok(readFileSync(cpu).includes('com.microsoft'));
  assert.ok(!readFileSync(gpu).includes('com.microsoft'));
});

test('bench picks a GPU-sized batch on webgpu unless --batch is given', needsWebGpu, () => {
  assertWebGpu();
  const batch = (...args: string[]): number => {
    // at 32 px (4 patches) so that 64 images stay quick on SwiftShader
    const r = vitkit(['bench', '--checkpoint', hf, '--img-size', '32', '--seconds', '0', '--json', ...args], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { batch: number }).batch;
  };
  assert.equal(batch('--device', 'cpu'), 8);
  assert.equal(batch('--device', 'webgpu'), 64);
  assert.equal(batch('--device', 'webgpu', '--batch', '3'), 3);
});

test(
  '--precision fp16 --device webgpu without f16 shaders (SwiftShader) is one line naming the fix; auto stays on the CPU',
  needsWebGpu,
  async () => {
    assertWebGpu();
    if ((await probeWebGpu()).fp16) return; // a GPU with shader-f16: test/inference/webgpu.test.ts runs fp16 on it
    const r = vitkit(['predict', images[0]!, '--checkpoint', hf, '--precision', 'fp16', '--device', 'webgpu'], { timeoutMs: 120_000 });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n').filter((l) => !/XDG_RUNTIME_DIR/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /^vitkit: --precision fp16 --device webgpu: the WebGPU adapter has no f16 shaders .*: use --precision fp32, or a GPU with shader-f16/,
    );
    const auto = vitkit(['predict', images[0]!, '--checkpoint', hf, '--json', '--precision', 'fp16', '--device', 'auto'], { timeoutMs: 120_000 });
    assert.equal(auto.status, 0, auto.stderr);
    assert.equal((JSON.parse(auto.stdout) as Line).device, 'cpu');
    assert.match(auto.stderr, /device auto: running on the CPU, the WebGPU adapter has no f16 shaders \(shader-f16\) for --precision fp16/);
  },
);
