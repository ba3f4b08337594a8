// Which attention kernel is fastest for inference, per precision: the plain graph (standard ops), the q/k/v
// projection and attention in one node ('fused': com.microsoft Attention, QAttention for int8) and
// com.microsoft MultiHeadAttention after the projection ('mha'), each session run in turn so that a load from
// elsewhere hits all of them alike. The winners are inference-graph.ts's defaultAttentionKernel.
// Run: node --import tsx bench/attention-kernels.ts [--arch vit_small_patch16_224] [--img-size S] [--batch 8]
//        [--rounds 10] [--threads N]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { toOnnx } from '../src/graph/onnx.ts';
import { zeros } from '../src/graph/tensor.ts';
import { preset } from '../src/model/config.ts';
import { initParameters } from '../src/model/init.ts';
import { quantizeWeights } from '../src/model/int8.ts';
import { type AttentionKernel, inferenceGraph } from '../src/model/inference-graph.ts';
import { Session } from '../src/runtime/session.ts';
import { machine } from './machine.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string' },
    'img-size': { type: 'string' },
    batch: { type: 'string' },
    rounds: { type: 'string' },
    threads: { type: 'string' },
  },
});
const arch = values.arch ?? 'vit_small_patch16_224';
const batch = Number(values.batch ?? 8);
const rounds = Number(values.rounds ?? 10);
const threads = Number(values.threads ?? availableParallelism());

const cfg = preset(arch, values['img-size'] ? { imgSize: Number(values['img-size']) } : {});
const fp32 = initParameters(cfg, { seed: 0 });
const int8 = quantizeWeights(cfg, fp32);
const variants: [string, AttentionKernel, typeof fp32][] = [
  ['fp32-plain', 'plain', fp32], ['fp32-fused', 'fused', fp32], ['fp32-mha', 'mha', fp32],
  ['int8-plain', 'plain', int8], ['int8-fused', 'fused', int8], ['int8-mha', 'mha', int8],
];
const output = cfg.numClasses > 0 ? 'logits' : 'pooled';
const graphOf = (kernel: AttentionKernel, w: typeof fp32) => toOnnx(inferenceGraph(cfg, w, [output], { batch, kernel }));
const sessions = await Promise.all(variants.map(async ([name, kernel, w]) => [name, await Session.create(graphOf(kernel, w), { threads })] as const));
const images = zeros([batch, cfg.inChans, cfg.imgSize, cfg.imgSize]);
(images.data as Float32Array).forEach((_, i, a) => (a[i] = Math.sin(i)));
const times = new Map<string, number[]>(sessions.map(([name]) => [name, []]));
for (const [, s] of sessions) for (let i = 0; i < 2; i++) await s.run({ images });
for (let r = 0; r < rounds; r++) {
  for (const [name, s] of sessions) {
    const t0 = performance.now();
    await s.run({ images });
    times.get(name)!.push(performance.now() - t0);
  }
}
const result: Record<string, { median_ms: number; min_ms: number }> = {};
for (const [name, ts] of times) {
  ts.sort((a, b) => a - b);
  result[name] = { median_ms: ts[ts.length >> 1]!, min_ms: ts[0]! };
}
console.log(JSON.stringify({ arch, img_size: cfg.imgSize, batch, threads, rounds, machine: machine(), ...result }));
for (const [, s] of sessions) await s.release();
