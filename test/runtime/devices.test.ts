// The device choice without a GPU: parsing, 'cpu' without a probe, the Vulkan drivers the loader would try, and
// the reason and fix given for each way of finding no adapter. (The probe itself: test/inference/webgpu.test.ts and
// test/cli/device.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { Graph } from '../../src/graph/graph.ts';
import { toOnnx } from '../../src/graph/onnx.ts';
import { explain, parseDevice, resolveDevice, vulkanDrivers } from '../../src/runtime/devices.ts';
import { Session } from '../../src/runtime/session.ts';

// This file's process (node's runner starts one per file) probes with a driver that does not exist: no adapter.
const MISSING = '/nonexistent/vulkan_icd.json';
process.env.VK_ICD_FILENAMES = MISSING;

test('--device takes cpu, webgpu or auto', () => {
  for (const d of ['cpu', 'webgpu', 'auto']) assert.equal(parseDevice(d), d);
  assert.throws(
    () => parseDevice('cuda'),
    (e: Error) => e instanceof UserError && /unknown device 'cuda' \(expected cpu\|webgpu\|auto\)/.test(e.message),
  );
});

test("'cpu' resolves without probing", async () => {
  const started = performance.now();
  assert.deepEqual(await resolveDevice('cpu'), { device: 'cpu' });
  assert.ok(performance.now() - started < 100, 'no child process was started');
});

test('the Vulkan drivers come from VK_ICD_FILENAMES (or VK_DRIVER_FILES) when set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-icd-'));
  const manifest = join(dir, 'gpu_icd.json');
  writeFileSync(manifest, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: 'libgpu.so.1', api_version: '1.3.0' } }));
  const missing = join(dir, 'none.json');
  assert.deepEqual(vulkanDrivers({ VK_ICD_FILENAMES: `${manifest}:${missing}` }), [
    { manifest, library: 'libgpu.so.1', exists: true },
    { manifest: missing, library: '', exists: false },
  ]);
  assert.deepEqual(vulkanDrivers({ VK_DRIVER_FILES: manifest, VK_ICD_FILENAMES: missing }).map((d) => d.manifest), [manifest]);
});

test(
  'no adapter: the reason names the missing piece and the fix says what to install or set',
  { skip: process.platform !== 'linux' && 'Vulkan is the Linux backend' },
  () => {
    const gpu = [{ manifest: '/usr/share/vulkan/icd.d/nvidia_icd.json', library: 'libGLX_nvidia.so.0', exists: true }];
    const noLoader = explain("Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file", gpu, {});
    assert.match(noLoader.reason, /no Vulkan loader \(libvulkan\.so\.1/);
    assert.match(noLoader.fix, /apt install libvulkan1/);

    const missing = explain(
      'Warning: vkCreateInstance: Found no drivers!',
      [{ manifest: '/x/none.json', library: '', exists: false }],
      { VK_ICD_FILENAMES: '/x/none.json' },
    );
    assert.match(missing.reason, /VK_ICD_FILENAMES names \/x\/none\.json, which does not exist/);
    assert.match(missing.fix, /vk_swiftshader_icd\.json/);

    const none = explain('Failed to get a WebGPU adapter: No supported adapters', [], {});
    assert.match(none.reason, /no Vulkan driver \(no ICD manifest in \/etc\/vulkan\/icd\.d/);
    assert.match(none.fix, /NVIDIA/);

    const lavapipe = [
      { manifest: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', library: '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so', exists: true },
    ];
    const refused = explain('Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.\n - While initializing adapter', lavapipe, {});
    assert.match(refused.reason, /tried libvulkan_lvp\.so; Dawn: Vulkan shaderUniform\*ArrayDynamicIndexing required\./);
    for (const r of [noLoader, missing, none, refused]) assert.ok(!r.reason.includes('\n') && !r.fix.includes('\n'), 'one line each');
  },
);

test(
  "without an adapter 'auto' is the CPU with a note, and 'webgpu' a one-line UserError, also from Session",
  { skip: process.platform !== 'linux' && 'Vulkan is the Linux backend' },
  async () => {
    const auto = await resolveDevice('auto');
    assert.equal(auto.device, 'cpu');
    assert.match(auto.note!, /^device auto: running on the CPU, no WebGPU adapter: VK_ICD_FILENAMES names \/nonexistent\/vulkan_icd\.json/);
    const named = (e: Error) => e instanceof UserError && e.message.includes(MISSING) && e.message.endsWith('or use --device cpu)');
    await assert.rejects(resolveDevice('webgpu'), named);
    const g = new Graph('relu');
    g.output(g.node('Relu', [g.input('x', 'float32', [2])], [{ dtype: 'float32', shape: [2] }])[0]!, 'y');
    await assert.rejects(Session.create(toOnnx(g), { device: 'webgpu' }), named);
  },
);
