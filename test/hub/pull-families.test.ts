// The family's Hugging Face folders by Hub id: pull() fetches what a DINOv2 classifier, a DeiT-distilled and a SigLIP
// vision tower need, and the snapshot loads and runs as transformers does, at 28 px and at 42 px (the families'
// golden references).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pull } from '../../src/hub/pull.ts';
import { atResolution } from '../../src/model/pos-embed.ts';
import { loadCheckpoint } from '../../src/weights/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { FAMILIES, familyExpected, relErr, runModel } from '../model/family-fixtures.ts';
import { COMMIT, startHubServer } from './hub-server.ts';

const FOLDERS = { 'facebook/dinov2-micro': 'dinov2_cls', 'facebook/deit-micro': 'deit_distilled', 'google/siglip-micro': 'siglip' };
const repos = Object.fromEntries(Object.entries(FOLDERS).map(([id, name]) => {
  const dir = `${FAMILIES}${name}/hf`;
  const files = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
  return [id, { commit: COMMIT, files: { ...files, 'README.md': Buffer.from('# micro') } }];
}));
const hub = await startHubServer(repos);
after(() => hub.close());

for (const [id, name] of Object.entries(FOLDERS)) {
  test(`pull ${id} (${name}): the files it needs, and transformers' outputs from the snapshot`, async () => {
    const r = await pull(id, { env: { HF_HOME: tempDir('hf-home'), HF_ENDPOINT: hub.endpoint } });
    assert.ok(!r.files.includes('README.md') && r.files.includes('model.safetensors'), r.files.join(', '));
    const c = loadCheckpoint(r.dir);
    const expected = familyExpected(name);
    const out = await runModel(c.config, c.weights, expected.get('input')!);
    assert.ok(relErr(out, expected.get('hf.out')!) < 1e-4, `${name}: ${relErr(out, expected.get('hf.out')!)}`);
    // a Hub id is a Hugging Face checkpoint: at another size it resamples as transformers does
    const alt = atResolution(c.config, c.weights, 42);
    const err = relErr(await runModel(alt.config, alt.weights, expected.get('input_alt')!), expected.get('hf.out_alt')!);
    assert.ok(err < 1e-4, `${name} at 42 px: ${err}`);
  });
}
