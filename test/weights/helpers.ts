// Shared by the weights tests: fixture locations, temporary directories and tensor comparison.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { StateDict } from '../../src/graph/tensor.ts';
import { formatShape } from '../../src/graph/tensor.ts';
import type { ViTConfig } from '../../src/model/config.ts';

/** The read-only reference fixtures made with PyTorch + timm + transformers. */
export const SHARED = new URL('../../../shared/fixtures/', import.meta.url).pathname;
/** This folder's own small fixtures (see test/fixtures/weights/make_fixtures.py). */
export const LOCAL = new URL('../fixtures/weights/', import.meta.url).pathname;

export interface ManifestModel {
  timm_kwargs: {
    img_size: number;
    patch_size: number;
    embed_dim: number;
    depth: number;
    num_heads: number;
    num_classes: number;
    in_chans?: number;
    mlp_ratio?: number;
    global_pool?: string;
  };
  layer_norm_eps: number;
  heads: number;
  mean: number[];
  std: number[];
  formats: string[];
}

export const manifest = JSON.parse(readFileSync(join(SHARED, 'manifest.json'), 'utf8')) as { models: Record<string, ManifestModel> };

/** The ViTConfig a manifest model was made with. */
export function manifestConfig(name: string): ViTConfig {
  const m = manifest.models[name]!;
  const k = m.timm_kwargs;
  return {
    imgSize: k.img_size, patchSize: k.patch_size, inChans: k.in_chans ?? 3, embedDim: k.embed_dim, depth: k.depth,
    numHeads: m.heads, mlpDim: k.embed_dim * (k.mlp_ratio ?? 4), numClasses: k.num_classes, classToken: true,
    pool: k.global_pool === 'avg' ? 'avg' : 'token', layerNormEps: m.layer_norm_eps, qkvBias: true, preLogitsDim: 0,
  };
}

/** A fresh temporary directory, removed when the test file finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vitkit-weights-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Same names, shapes and dtypes, and values within `tol` (0 means bit-identical). */
export function assertSameTensors(actual: StateDict, expected: StateDict, tol = 0): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.equal(formatShape(a.shape), formatShape(e.shape), `${name} shape`);
    assert.equal(a.dtype, e.dtype, `${name} dtype`);
    for (let i = 0; i < e.data.length; i++) {
      const d = Math.abs(Number(a.data[i]) - Number(e.data[i]));
      if (!(d <= tol)) assert.fail(`${name}[${i}]: ${a.data[i]} vs ${e.data[i]}`);
    }
  }
}

/** Asserts that `fn` throws a UserError whose message matches every pattern. */
export function assertUserError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: Error) => {
    assert.equal(e.name, 'UserError', `expected a UserError, got ${e.name}: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    assert.ok(!e.message.includes('\n'), 'message is one line');
    return true;
  });
}
