// What keeping the training state in GPU memory saves: a TrainSession on WebGPU that keeps weights, optimizer moments
// (and EMA) on the device against one that copies them up and back every step (keepOnDevice: false), with a CPU
// session as the reference, all in this process. Prints one JSON line: median step times, the bytes each mode moves
// per step, the copy's share of a copying step, and a download() (what a checkpoint costs). Also what packing the
// small tensors' update saves (model/update-packing.ts: a WebGPU session's default): the resident step unpacked
// (packBelow 0), with each graph's node count.
// Run: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench:webgpu-train --
//        [--case micro|fmnist|… (train-cases.ts; default micro) --batch B --steps N (default 5) --threads N]
// SwiftShader is a CPU: its times say what the copies cost relative to the work, not how fast a GPU trains.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { inlineComposites } from '../src/graph/graph.ts';
import { type ViTConfig, checkConfig, defaultConfig } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { countParameters } from '../src/model/params.ts';
import { buildStepGraph } from '../src/model/step-graph.ts';
import { PACK_BELOW } from '../src/model/update-packing.ts';
import { Rng } from '../src/rng.ts';
import { nodeEngine } from '../src/runtime/node-engine.ts';
import type { Device } from '../src/runtime/session-options.ts';
import { TrainSession } from '../src/runtime/train-session.ts';
import { machine } from './machine.ts';
import { benchStep, cases } from './train-cases.ts';

const { values } = parseArgs({
  options: { case: { type: 'string' }, batch: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' } },
});
/** The SwiftShader-sized case: the tiny ViT of the WebGPU tests. */
const micro: ViTConfig = checkConfig({
  ...defaultConfig,
  imgSize: 8,
  patchSize: 4,
  inChans: 1,
  embedDim: 16,
  depth: 1,
  numHeads: 2,
  mlpDim: 32,
  numClasses: 3,
});
const name = values.case ?? 'micro';
const base = name === 'micro' ? { config: micro, batch: 4 } : cases[name];
if (!base) throw new Error(`unknown case '${name}' (expected micro|${Object.keys(cases).join('|')})`);
const cfg = checkConfig(base.config);
const batch = Number(values.batch ?? base.batch);
const steps = Number(values.steps ?? 5);
const threads = Number(values.threads ?? availableParallelism());

const rng = new Rng(0);
const images = Float32Array.from({ length: batch * cfg.inChans * cfg.imgSize ** 2 }, () => rng.normal());
const labels = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % cfg.numClasses));
const init = initParameters(cfg, { seed: 0 });

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median step time (after one warm-up step, which compiles the GPU's shaders) and median download time. */
async function time(device: Device, keepOnDevice: boolean, packBelow?: number): Promise<{ step_ms: number; download_ms: number }> {
  const s = await TrainSession.create(cfg, init, { engine: nodeEngine, batch, threads, device, keepOnDevice, packBelow, ...benchStep });
  await s.step(images, labels, 1e-3);
  const stepMs: number[] = [];
  const downloadMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    await s.step(images, labels, 1e-3);
    stepMs.push(performance.now() - t);
    t = performance.now();
    await s.download();
    downloadMs.push(performance.now() - t);
  }
  await s.release();
  return { step_ms: median(stepMs), download_ms: median(downloadMs) };
}

const cpu = await time('cpu', false);
const resident = await time('webgpu', true);
const copying = await time('webgpu', false);
const unpacked = await time('webgpu', true, 0);
const nodes = (packBelow: number) => inlineComposites(buildStepGraph(cfg, { batch, packBelow, ...benchStep }).graph.nodes).length;
const params = countParameters(cfg);
const stateBytes = 4 * params * 3; // weights, AdamW's m and v
const batchBytes = images.byteLength + labels.byteLength;
console.log(JSON.stringify({
  case: name, batch, threads, steps, parameters: params, machine: machine(), device: 'webgpu (the adapter VK_ICD_FILENAMES names)',
  step_ms: { cpu: cpu.step_ms, webgpu_resident: resident.step_ms, webgpu_copying: copying.step_ms, webgpu_resident_unpacked: unpacked.step_ms },
  graph_nodes: { packed: nodes(PACK_BELOW), unpacked: nodes(0) },
  unpacked_over_packed: unpacked.step_ms / resident.step_ms,
  bytes_per_step: { resident: batchBytes + 3 * 4, copying: batchBytes + 2 * stateBytes + 3 * 4 },
  copy_share_of_copying_step: (copying.step_ms - resident.step_ms) / copying.step_ms,
  copying_over_resident: copying.step_ms / resident.step_ms,
  resident_over_cpu: resident.step_ms / cpu.step_ms,
  download_ms: resident.download_ms,
}));
