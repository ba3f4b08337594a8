// Inference on WebGPU (SwiftShader in CI, see test/webgpu.ts): the fixtures' logits and attention probabilities
// against timm's, and the logits against the CPU's, through the Classifier as every command runs it.
//
// Tolerance, 1e-4 absolute on logits of magnitude ≤ 4.3 (timm's own bar, fixtures/README.md): both devices compute
// in float32 but reduce in different orders (WGSL's tiled MatMul and workgroup-tree LayerNorm/Softmax sums against
// MLAS's blocked sgemm), so they differ by accumulated rounding. Measured on SwiftShader (bench/webgpu-accuracy.ts):
// ≤ 1.5e-6 from timm and from the CPU. A real GPU adds its own exp (WGSL allows 3 + 2|x| ULP), onnxruntime's WGSL
// Erf (a polynomial, ~1e-7 absolute) and fused multiply-adds: expect ~1e-5. The bar still catches what went wrong
// before: onnxruntime's WebGPU com.microsoft Attention kernel was 1.5e-3 to 8e-3 off on these models (docs/gpu.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { probeWebGpu } from '../../src/runtime/devices.ts';
import { FIXTURES, FIXTURE_CHECKPOINTS, expected, maxAbsDiff } from '../fixtures.ts';
import { assertWebGpu, needsWebGpu } from '../webgpu.ts';

const TOLERANCE = 1e-4;

for (const [model, format, config] of FIXTURE_CHECKPOINTS) {
  test(`${model}/${format} on webgpu matches timm and the CPU`, needsWebGpu, async () => {
    assertWebGpu();
    const golden = expected(model);
    const images = golden.get('input')! as Parameters<Classifier['run']>[0];
    const logits: Record<string, ReturnType<typeof golden.get>> = {};
    for (const device of ['webgpu', 'cpu'] as const) {
      // with the attention probabilities, which `vitkit attention` and `analyze` read (they stay within 1e-4 too)
      const classifier = await Classifier.create(loadModel(`${FIXTURES}${model}/${format}`, { config, device }), {
        outputs: ['logits', 'attention'],
      });
      assert.equal(classifier.device, device);
      const out = await classifier.run(images);
      logits[device] = out.logits;
      for (let i = 0; golden.has(`attn.${i}`); i++) {
        const e = maxAbsDiff(out[`attn.${i}`]!, golden.get(`attn.${i}`)!);
        assert.ok(e < TOLERANCE, `${device} attn.${i} vs timm: ${e}`);
      }
      await classifier.release();
    }
    const fromTimm = maxAbsDiff(logits.webgpu!, golden.get('logits')!);
    const fromCpu = maxAbsDiff(logits.webgpu!, logits.cpu!);
    assert.ok(fromTimm < TOLERANCE, `webgpu vs timm: ${fromTimm}`);
    assert.ok(fromCpu < TOLERANCE, `webgpu vs cpu: ${fromCpu}`);
  });
}

test("device 'auto' picks WebGPU where an adapter is found", needsWebGpu, async () => {
  assertWebGpu();
  const model = loadModel(`${FIXTURES}micro_p16_224/hf`, { device: 'auto' });
  const classifier = await Classifier.create(model, { outputs: ['pooled'] });
  assert.equal(classifier.device, 'webgpu');
  await classifier.release();
});

// fp16 on WebGPU needs f16 shaders. SwiftShader has none: 'webgpu' is refused with the fix, 'auto' runs on the CPU.
// On an adapter that has them, fp16 runs there, within the fp16 bound of test/model/fp16.test.ts (8·2⁻¹¹ of the
// logits' scale) plus the GPU's f16 accumulation, which bench:gpu measures: 1e-2 of the scale here.
test('fp16: WebGPU only with shader-f16 (refused without it, auto falls back to the CPU)', needsWebGpu, async () => {
  assertWebGpu();
  const path = `${FIXTURES}micro_p16_224/hf`;
  const { fp16: f16Shaders } = await probeWebGpu();
  const auto = await Classifier.create(loadModel(path, { precision: 'fp16', device: 'auto' }), { outputs: ['logits'] });
  assert.equal(auto.device, f16Shaders ? 'webgpu' : 'cpu');
  if (f16Shaders) {
    const images = expected('micro_p16_224').get('input') as Tensor<'float32'>;
    const [got, want] = [(await auto.run(images)).logits!, expected('micro_p16_224').get('logits')!];
    const scale = (want.data as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(maxAbsDiff(got, want) < 1e-2 * scale, `${maxAbsDiff(got, want)}`);
  } else {
    const model = loadModel(path, { precision: 'fp16', device: 'webgpu' });
    await assert.rejects(
      Classifier.create(model),
      (e: Error) => e.name === 'UserError' && /no f16 shaders .*use --precision fp32, or a GPU with shader-f16/.test(e.message),
    );
  }
  await auto.release();
});
