// The Classifier's device choice where no GPU is needed: int8 stays on the CPU, and what runs where.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { Classifier, loadModel } from '../../src/inference/classifier.ts';
import { attentionKernelFor } from '../../src/model/fused-attention.ts';
import { FIXTURES } from '../fixtures.ts';

const hf = `${FIXTURES}micro_p16_224/hf`;

test('int8 on webgpu is refused with the fix; auto runs int8 on the CPU', async () => {
  const int8 = /int8 models run on the CPU only \(WebGPU has no int8 kernels\): use --device cpu/;
  assert.throws(() => loadModel(hf, { precision: 'int8', device: 'webgpu' }), (e: Error) => e instanceof UserError && int8.test(e.message));
  const model = loadModel(hf, { precision: 'int8' });
  await assert.rejects(Classifier.create(model, { device: 'webgpu' }), (e: Error) => e instanceof UserError && int8.test(e.message));
  const auto = await Classifier.create({ ...model, device: 'auto' }, { outputs: ['logits'] });
  assert.equal(auto.device, 'cpu');
  await auto.release();
});

test('the CPU is the default device; WebGPU runs attention from plain ops', async () => {
  const model = loadModel(hf);
  assert.equal(model.device, 'cpu');
  const classifier = await Classifier.create(model, { outputs: ['logits'] });
  assert.equal(classifier.device, 'cpu');
  await classifier.release();
  assert.equal(attentionKernelFor('webgpu'), 'plain');
  assert.equal(attentionKernelFor('cpu'), undefined, "the CPU keeps the precision's measured fastest");
});
