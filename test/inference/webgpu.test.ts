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
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
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
      const classifier = await Classifier.create(loadModel(`${FIXTURES}${model}/${format}`, { config, device }), { outputs: ['logits', 'attention'] });
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
