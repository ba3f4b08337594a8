// The compute example (the paper's Fig. 5 in miniature) end to end in its quick mode: nine `vitkit train` runs (three
// sizes each of ViT, hybrid and ResNet) on a small slice of the real archive, the table, the plot and results.json.
// The numbers of a quick run mean nothing; the README's figure comes from the full run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tempDir } from '../data/helpers.ts';

const script = fileURLToPath(new URL('../../examples/cifar10-compute.ts', import.meta.url));

test('cifar10-compute --quick: trains three sizes of each family and plots accuracy against compute', async () => {
  const out = tempDir('cifar10-compute');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--quick', '--out', out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\$ vitkit train .*--backbone 32,1x128 --depth 0 --pool avg/m);
  const { rows } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
    rows: { family: string; parameters: number; gflops_per_image: number; train_tflops: number; test_acc: number }[];
  };
  assert.deepEqual(rows.map((x) => x.family), ['ViT', 'ViT', 'ViT', 'hybrid', 'hybrid', 'hybrid', 'ResNet', 'ResNet', 'ResNet']);
  for (const family of ['ViT', 'hybrid', 'ResNet']) {
    const sizes = rows.filter((x) => x.family === family);
    // Within a family each size costs more compute than the last (same epochs, same data).
    for (let i = 1; i < 3; i++) assert.ok(sizes[i]!.train_tflops > sizes[i - 1]!.train_tflops, `${family} compute grows with size`);
  }
  for (const x of rows) {
    assert.ok(x.test_acc >= 0 && x.test_acc <= 1 && x.parameters > 0);
    // 40 images per class × 10 classes, one epoch of batch 128 (the last partial batch dropped): 3 steps.
    assert.ok(Math.abs(x.train_tflops - (3 * x.gflops_per_image * 3 * 128) / 1e3) < 1e-12);
  }
  const png = await sharp(join(out, 'compute.png')).metadata();
  assert.ok(png.width! > 400 && png.height! > 200, `plot ${png.width}×${png.height}`);
  assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /^\| model \| parameters /);
});
