// The same TrainSession on two engines: 3 training steps of the `npm start` model (0.41M parameters; AdamW with
// weight decay, or SGD with momentum; clipping and label smoothing) from the same weights and batch, in chromium on
// onnxruntime-web and in Node on onnxruntime-node. Every parameter and optimizer state must agree within 1e-4 of
// that tensor's scale (its largest magnitude) after each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateDict } from '../../src/graph/tensor.ts';
import type { ViTConfig } from '../../src/model/config.ts';
import { checkConfig, defaultConfig } from '../../src/model/config.ts';
import { initParameters } from '../../src/model/init.ts';
import { Rng } from '../../src/rng.ts';
import { nodeEngine } from '../../src/runtime/node-engine.ts';
import { TrainSession } from '../../src/runtime/train-session.ts';
import { fashionMnistRecipe } from '../../src/train/recipe.ts';
import { decodeSafetensors } from '../../src/weights/safetensors-codec.ts';
import { launchChromium, needsChromium, needsWebGPU } from './chromium.ts';
import { buildHarness, serveHarness } from './harness.ts';

const BATCH = 8;
const LR = 1.5e-3;
const STEPS = 3;
/**
 * Adam divides each gradient by its own running magnitude, so where a gradient is float32 noise (a zero-initialised
 * bias, a weight the batch barely reaches) the update is ±lr whichever engine rounded the noise: such elements, as
 * the fixtures' AdamW parity test has it, are held to |Δ| ≤ lr per step, and there must be few of them. (The same
 * amplification, milder, sets AdamW's worst case: a gradient of 1e-5 that float32 cancellation leaves a few 1e-4
 * uncertain moves its zero-initialised bias by lr × that; measured 9.3e-5 of the bias's scale on an AVX-512 CPU.
 * SGD, linear in the gradients, agrees to 5e-6.)
 */
const NOISE = 1e-6;
const MAX_NOISE_FRACTION = 0.01;
/**
 * Each tensor's bound, as a fraction of its scale. WASM: 1e-4 (above). WebGPU runs the same float32 graph (no fp16:
 * SwiftShader's adapter has no shader-f16, and onnxruntime does not lower float32 models) but sums in its own order:
 * its MatMul tiles and reductions add a weight gradient's 400 terms (batch 8 × 50 tokens) in other groups than the
 * CPU's sgemm. Measured on SwiftShader: SGD 2.1e-6, AdamW 1.07e-4 (Adam's first moment of blocks.1.attn.proj.weight
 * after 3 steps — the gradient's rounding, carried), so 2e-4; a wrong rule or update is off by the tensor's scale.
 */
const TOLERANCE = { cpu: 1e-4, webgpu: 2e-4 } as const;

type Optimizer = { kind: 'adamw'; weightDecay: number } | { kind: 'sgd'; momentum: number };

/** Node's state after each step, and per trainable parameter which elements ever had a noise-level gradient. */
async function nodeSteps(config: ViTConfig, params: StateDict, optimizer: Optimizer, images: Float32Array, labels: BigInt64Array) {
  const s = await TrainSession.create(config, params, { ...common, optimizer, engine: nodeEngine, exposeGradients: true });
  const states: StateDict[] = [];
  const noise = new Map<string, Uint8Array>();
  const minGrad = new Map<string, Float32Array>();
  for (let step = 0; step < STEPS; step++) {
    await s.step(images, labels, LR);
    states.push(s.state());
    for (const [name, g] of s.lastGradients()) {
      const mg = minGrad.get(name) ?? new Float32Array(g.data.length).fill(Infinity);
      (g.data as Float32Array).forEach((v, i) => void (mg[i] = Math.min(mg[i]!, Math.abs(v))));
      minGrad.set(name, mg);
      const m = noise.get(name) ?? new Uint8Array(g.data.length);
      (g.data as Float32Array).forEach((v, i) => void (Math.abs(v) < NOISE && (m[i] = 1)));
      noise.set(name, m);
    }
  }
  await s.release();
  return { states, noise, minGrad };
}

const common = { batch: BATCH, clipNorm: 1, labelSmoothing: 0.1 };
const OPTIMIZERS = [{ kind: 'adamw', weightDecay: 0.05 }, { kind: 'sgd', momentum: 0.9 }] as const;
/** Both optimizers on WASM; on WebGPU (SwiftShader: minutes per case) AdamW alone, the one with the most ops. */
const cases = [...OPTIMIZERS.map((o) => ['cpu', o] as const), ['webgpu', OPTIMIZERS[0]] as const];
/** Built once for both optimizers. */
let harness: Promise<string> | undefined;

for (const [device, optimizer] of cases) {
  const on = device === 'webgpu' ? 'WebGPU (SwiftShader)' : 'WASM';
  test(
    `${STEPS} ${optimizer.kind} steps on onnxruntime-web's ${on} in chromium equal onnxruntime-node's CPU ` +
      `within ${TOLERANCE[device]} of each tensor's scale`,
    device === 'webgpu' ? needsWebGPU : needsChromium,
    async () => {
      const config = checkConfig({ ...defaultConfig, ...fashionMnistRecipe.config });
      const params = initParameters(config, { seed: 3 });
      const rng = new Rng(7);
      const images = Float32Array.from({ length: BATCH * 28 * 28 }, () => rng.normal());
      const labels = BigInt64Array.from({ length: BATCH }, (_, i) => BigInt((3 * i) % 10));
      const expected = await nodeSteps(config, params, optimizer, images, labels);

      harness ??= buildHarness();
      const server = await serveHarness(await harness, new Map([
        ...params,
        ['images', { dtype: 'float32', shape: [BATCH, 1, 28, 28], data: images }],
        ['labels', { dtype: 'int64', shape: [BATCH], data: labels }],
      ]), { config, options: { ...common, optimizer, device }, lrs: Array<number>(STEPS).fill(LR) });
      const browser = await launchChromium({ webgpu: device === 'webgpu' });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(server.url);
        await page.waitForSelector('body[data-state=ready]', { state: 'attached', timeout: 120_000 });
        type Got = { states: string[]; threads: number; stateOnDevice: boolean };
        const got = await page.evaluate(() => (window as unknown as { runCase: () => Promise<Got> }).runCase());
        assert.equal(got.threads, 2, 'the harness is cross-origin isolated: WebAssembly threads');
        // on WebGPU the weights and moments stay in GPU memory between steps; the states compared were downloaded
        assert.equal(got.stateOnDevice, device === 'webgpu');
        assert.equal(got.states.length, STEPS);
        let noisy = 0;
        let elements = 0;
        let worstRelative = 0;
        let worstAt = '';
        got.states.forEach((b64, step) => {
          const web = decodeSafetensors(Buffer.from(b64, 'base64')).tensors;
          assert.deepEqual([...web.keys()].sort(), [...expected.states[step]!.keys()].sort());
          for (const [name, ref] of expected.states[step]!) {
            if (ref.dtype === 'int64') {
              assert.deepEqual(web.get(name)!.data, ref.data, name);
              continue;
            }
            const a = web.get(name)!.data as Float32Array;
            const b = ref.data as Float32Array;
            const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const noise = optimizer.kind === 'adamw' ? expected.noise.get(name) : undefined;
            let worst = 0;
            let worstI = -1;
            for (let i = 0; i < b.length; i++) {
              const d = Math.abs(a[i]! - b[i]!);
              if (noise?.[i]) assert.ok(d <= LR * (step + 1), `step ${step + 1}, ${name}[${i}] (noise-level gradient): |Δ| ${d} > lr × steps`);
              else if (d > worst) [worst, worstI] = [d, i];
            }
            if (step === STEPS - 1 && noise) noisy += noise.reduce((n, v) => n + v, 0);
            if (step === STEPS - 1 && expected.noise.has(name)) elements += b.length;
            if (scale > 0 && worst / scale > worstRelative) {
              [worstRelative, worstAt] = [
                worst / scale,
                `${name}[${worstI}] at step ${step + 1}, min |g| ${expected.minGrad.get(name)?.[worstI]?.toExponential(1)}`,
              ];
            }
            assert.ok(
              worst <= TOLERANCE[device] * scale,
              `step ${step + 1}, ${name}: max |web − node| = ${worst.toExponential(2)}, scale ${scale.toExponential(2)}`,
            );
          }
        });
        assert.ok(noisy <= MAX_NOISE_FRACTION * elements, `${noisy} of ${elements} parameters had noise-level gradients`);
        console.log(
          `# ${on} ${optimizer.kind}: worst |web − node| / scale ${worstRelative.toExponential(2)} (${worstAt}); ` +
            `${noisy} of ${elements} parameters with noise-level gradients`,
        );
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
        await server.close();
      }
    },
  );
}
