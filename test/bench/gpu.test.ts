// bench:gpu as the lent GPU machine runs it: bundled by scripts/device-bench.sh (esbuild, onnxruntime-node left
// outside), then run with a micro model on WebGPU (SwiftShader without a GPU) and the CPU. A session is lent a GPU
// for 15 minutes at most, so a bench that breaks here would waste them: this checks it still bundles, runs and
// prints every field the README's table is made from. (The counts themselves are graph/flops.ts's, tested there.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { needsWebGpu } from '../webgpu.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vitkit-bench-gpu-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the bundled bench:gpu with `args`. */
function benchGpu(args: string[]) {
  return spawnSync(process.execPath, [join(dir, 'gpu.mjs'), ...args], { encoding: 'utf8', timeout: 240_000 });
}

test('bench:gpu bundles as device-bench.sh packs it and runs its cases at --batch on WebGPU and the CPU, and its finetune case', needsWebGpu, () => {
  const bundled = spawnSync('bash', [join(root, 'scripts/device-bench.sh'), 'bundle', dir], { encoding: 'utf8' });
  assert.equal(bundled.status, 0, bundled.stderr);
  for (const f of ['gpu.mjs', 'finetune.mjs', 'gpu_torch.py', 'torch_train_step.py']) assert.ok(existsSync(join(dir, f)), f);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules')); // onnxruntime-node, as .device/ carries it

  const r = benchGpu(['--tiny', '--cases', 'infer-micro,train-micro', '--seconds', '0.2', '--batch', '3', '--skip', 'pytorch']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  assert.deepEqual(lines.map((l) => l.case ?? l.check), ['infer-micro', 'train-micro', 'fused-attention-webgpu', 'webgpu-dispatch']);
  for (const line of lines.slice(0, 2)) {
    assert.equal(line.batch, 3, line.case);
    const [gpu, cpu] = [line.vitkit_webgpu.images_per_sec, line.vitkit_cpu.images_per_sec];
    assert.ok(gpu > 0 && cpu > 0 && Number.isFinite(gpu) && Number.isFinite(cpu), JSON.stringify(line));
    assert.ok(line.vitkit_webgpu.runs >= 3 && line.vitkit_cpu.runs >= 3, line.case);
    assert.ok(Math.abs(line.ratio_webgpu_vs_cpu - gpu / cpu) <= 1e-12 * (gpu / cpu), line.case);
    // the graph's size and arithmetic, and what each side made of it
    assert.ok(Number.isInteger(line.graph_nodes) && line.graph_nodes > 0 && line.multiply_adds_per_image > 0, line.case);
    const gflops = (rate: number) => (2 * line.multiply_adds_per_image * rate) / 1e9;
    assert.ok(Math.abs(line.vitkit_webgpu.gflop_per_sec - gflops(gpu)) <= 1e-9 * gflops(gpu), line.case);
    assert.ok(Math.abs(line.vitkit_cpu.gflop_per_sec - gflops(cpu)) <= 1e-9 * gflops(cpu), line.case);
    const usPerNode = (1e6 * 3) / gpu / line.graph_nodes;
    assert.ok(Math.abs(line.vitkit_webgpu.us_per_graph_node - usPerNode) <= 1e-9 * usPerNode, line.case);
    assert.deepEqual(line.pytorch, { skipped: '--skip pytorch' });
    assert.equal(line.ratio_webgpu_vs_pytorch, null);
    assert.match(line.vulkan_driver, /\.json$/);
    assert.equal(typeof line.machine.cpu, 'string');
  }
  assert.equal(typeof lines[2]!.max_abs_diff_vs_cpu, 'number');
  const dispatch = lines[3]!;
  assert.equal(dispatch.error, undefined, dispatch.error);
  for (const k of ['us_per_node_submit', 'us_per_node_synced', 'us_per_node_host_io']) assert.ok(dispatch[k] > 0 && Number.isFinite(dispatch[k]), k);
  assert.ok(dispatch.us_per_node_synced >= dispatch.us_per_node_submit, 'the synced time includes the submitted runs');

  const refused = benchGpu(['--tiny', '--cases', 'finetune', '--batch', '3']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--batch does not apply to 'finetune'/);

  // the `finetune` case's bundle, on the CPU (its --quick model takes minutes on SwiftShader): every --train case
  const args = ['--part', 'speed', '--quick', '--device', 'cpu', '--run-epochs', '0', '--steps', '1'];
  const ft = spawnSync(process.execPath, [join(dir, 'finetune.mjs'), ...args], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(ft.status, 0, ft.stderr);
  const speed = ft.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  assert.deepEqual(speed.map((l) => l.train), ['all', 'last:4', 'last:4, cached', 'lora:8', 'bias', 'head', 'head, cached']);
  for (const line of speed) {
    assert.ok(line.images_per_sec > 0 && line.multiply_adds_per_image > 0, JSON.stringify(line));
    assert.ok(line.speedup_vs_all > 0 && line.speedup_allowed_by_multiply_adds >= 1, line.train);
  }
});
