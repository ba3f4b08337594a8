// `vitkit serve` on the family's checkpoints: its inference worker (a worker thread, as the server runs it) loads a
// DeiT-distilled, DINOv2-classifier and BEiT Hugging Face folder and answers each image with transformers' logits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/graph/tensor.ts';
import { startInferenceWorker } from '../../src/serve/worker-runner.ts';
import { FAMILIES, familyExpected, relErr } from '../model/family-fixtures.ts';

for (const name of ['deit_distilled', 'dinov2_cls', 'beit']) {
  test(`serve's worker runs ${name} (HF folder) per image as transformers does`, async () => {
    const expected = familyExpected(name);
    const input = expected.get('input')!; // [2, 3, 28, 28], already normalised
    const per = input.data.length / 2;
    const images = [0, 1].map((i) => tensor('float32', input.shape.slice(1), (input.data as Float32Array).slice(i * per, (i + 1) * per)));
    const worker = await startInferenceWorker(`${FAMILIES}${name}/hf`, { threads: 1 });
    try {
      const outs = await worker.runner(images);
      const ref = expected.get('hf.out')!;
      const k = ref.shape[1]!;
      const logits = tensor('float32', [2, k], Float32Array.from(outs.flatMap((o) => [...o.logits!])));
      assert.ok(relErr(logits, ref) < 1e-4, `${name}: ${relErr(logits, ref)}`);
    } finally {
      await worker.close();
    }
  });
}
