// The ResNetV2 (BiT) backbone of the paper's hybrid ViTs, as timm's `vit_*_r*` models build it: weight-standardised
// convolutions with TensorFlow 'SAME' padding, GroupNorm (32 groups) + ReLU, a 7×7/2 stem with a 3×3/2 max pool, and
// non-pre-activation bottleneck stages; then the patch projection whose grid gives the tokens. Parameter names are
// timm's (`patch_embed.backbone.…`, `patch_embed.proj.…`), so timm checkpoints load by name.
import type { Value } from '../graph/graph.ts';
import type { Tensor } from '../graph/tensor.ts';
import { add, mul, relu } from '../ops/elementwise.ts';
import { conv2d } from '../ops/conv.ts';
import { layerNorm } from '../ops/nn.ts';
import { maxPool2d } from '../ops/pool.ts';
import { reshape, transpose } from '../ops/shape.ts';

export interface ResNetV2Config {
  /** Output channels of the stem's 7×7 convolution (64 in BiT and every timm hybrid). */
  readonly stemChs: number;
  /** Bottleneck blocks per stage; empty for a stem-only backbone (timm's `vit_tiny_r_s16_p8`). */
  readonly layers: readonly number[];
  /** Output channels of each stage (its bottleneck width is a quarter of that). */
  readonly channels: readonly number[];
}

/** GroupNorm groups: 32 throughout BiT. */
export const GROUPS = 32;
/** GroupNorm epsilon (PyTorch's default, which timm keeps). */
const GN_EPS = 1e-5;
/** Weight-standardisation epsilon: timm's hybrid helper sets 1e-8 (StdConv2dSame's own default is 1e-6). */
const STD_EPS = 1e-8;

export const PREFIX = 'patch_embed.backbone.';

/** timm's stem-only backbone is the stem Sequential itself, so its names lack the `stem.` level. */
const stemLevel = (bb: ResNetV2Config): string => (bb.layers.length ? 'stem.' : '');

/** The stem convolution's weight: the backbone's only filters that see pixels. */
export const stemConvWeight = (bb: ResNetV2Config): string => `${PREFIX}${stemLevel(bb)}conv.weight`;

/** timm's `make_div`: rounds to a multiple of 8, never more than 10% below the value. */
function makeDiv(v: number, divisor = 8): number {
  const r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return r < 0.9 * v ? r + divisor : r;
}

/** The bottleneck width of a stage with `out` output channels (timm's bottle_ratio 0.25). */
export const midChannels = (out: number): number => makeDiv(out * 0.25);

/** Channels of the feature map the projection reads. */
export function featureChannels(bb: ResNetV2Config): number {
  return bb.layers.length ? bb.channels[bb.layers.length - 1]! : bb.stemChs;
}

/** Each stage's stride: 1 for the first (the stem already pooled), 2 for every later one. */
const stageStride = (i: number): number => (i === 0 ? 1 : 2);

/** Pixels per feature-map cell: 4 from the stem, × 2 for each stage after the first. */
export function backboneStride(bb: ResNetV2Config): number {
  return 4 * 2 ** Math.max(0, bb.layers.length - 1);
}

/** Side of the feature map for a `size`-pixel input: 'SAME' layers give ceil(n / stride) at each step. */
export function featureSize(bb: ResNetV2Config, size: number): number {
  let n = Math.ceil(Math.ceil(size / 2) / 2); // stem conv, then max pool
  for (let i = 0; i < bb.layers.length; i++) n = Math.ceil(n / stageStride(i));
  return n;
}

/** The backbone in words, for `vitkit info`. */
export function describeBackbone(bb: ResNetV2Config): string {
  const stages = bb.layers.length ? `, stages [${bb.layers.join(', ')}] blocks of widths [${bb.channels.join(', ')}]` : ', stem only';
  return `ResNetV2 (GroupNorm, weight-standardised convs; stem ${bb.stemChs}${stages}; stride ${backboneStride(bb)}) ` +
    `→ ${featureChannels(bb)} channels`;
}

/** Every backbone parameter, name → shape, in timm's state-dict order. */
export function backboneShapes(bb: ResNetV2Config, inChans: number): [string, number[]][] {
  const out: [string, number[]][] = [];
  const conv = (name: string, o: number, i: number, k: number) => out.push([`${PREFIX}${name}.weight`, [o, i, k, k]]);
  const norm = (name: string, c: number) => out.push([`${PREFIX}${name}.weight`, [c]], [`${PREFIX}${name}.bias`, [c]]);
  const stem = stemLevel(bb);
  conv(`${stem}conv`, bb.stemChs, inChans, 7);
  norm(`${stem}norm`, bb.stemChs);
  let chs = bb.stemChs;
  bb.layers.forEach((blocks, i) => {
    const o = bb.channels[i]!;
    const mid = midChannels(o);
    for (let j = 0; j < blocks; j++) {
      const b = `stages.${i}.blocks.${j}`;
      if (j === 0) {
        conv(`${b}.downsample.conv`, o, chs, 1);
        norm(`${b}.downsample.norm`, o);
      }
      conv(`${b}.conv1`, mid, j === 0 ? chs : o, 1);
      norm(`${b}.norm1`, mid);
      conv(`${b}.conv2`, mid, mid, 3);
      norm(`${b}.norm2`, mid);
      conv(`${b}.conv3`, o, mid, 1);
      norm(`${b}.norm3`, o);
    }
    chs = o;
  });
  return out;
}

/** Multiply-accumulates ×2 of the backbone's convolutions on one `size`-pixel image (norms and pooling left out). */
export function backboneFlops(bb: ResNetV2Config, inChans: number, size: number): number {
  let n = Math.ceil(size / 2);
  let macs = n * n * bb.stemChs * inChans * 49;
  n = Math.ceil(n / 2);
  let chs = bb.stemChs;
  bb.layers.forEach((blocks, i) => {
    const o = bb.channels[i]!;
    const mid = midChannels(o);
    const m = Math.ceil(n / stageStride(i));
    macs += n * n * mid * chs + m * m * (o * chs + 9 * mid * mid + o * mid); // first block, with its projection
    macs += (blocks - 1) * m * m * (2 * o * mid + 9 * mid * mid);
    [n, chs] = [m, o];
  });
  return 2 * macs;
}

/** TensorFlow 'SAME' padding of one axis: out = ceil(n / s), the total split with the extra row at the end. */
export function samePads(n: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function padsFor(x: Value, k: number, s: number): [number, number, number, number] {
  const [, , h, w] = x.shape as [unknown, unknown, number, number];
  const [t, b] = samePads(h, k, s);
  const [l, r] = samePads(w, k, s);
  return [t, l, b, r];
}

/** A constant vector of ones in x's float type: the unit scale of the LayerNormalizations below. */
function ones(x: Value, n: number): Value {
  const t: Tensor = x.dtype === 'float64'
    ? { dtype: 'float64', shape: [n], data: new Float64Array(n).fill(1) }
    : { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(1) };
  return x.graph.constant(t, 'ones');
}

/**
 * Weight standardisation: per output channel, (w − mean) / √(var + 1e-8) over its C·k·k values (biased variance).
 * That is a LayerNormalization of the [O, C·k·k] matrix with unit scale, so its gradient is that op's rule.
 */
export function standardize(w: Value): Value {
  const [o, c, kh, kw] = w.dims as [number, number, number, number];
  const flat = reshape(w, [o, c * kh * kw]); // [O, C·k·k]
  return reshape(layerNorm(flat, ones(w, c * kh * kw), null, STD_EPS), [o, c, kh, kw]); // [O, C, k, k]
}

/** timm's StdConv2dSame (no bias): a standardised kernel with 'SAME' padding computed for x's size. */
function stdConv(x: Value, w: Value, stride: number): Value {
  const k = w.dims[2]!;
  return conv2d(x, standardize(w), null, { strides: [stride, stride], pads: padsFor(x, k, stride) });
}

/**
 * GroupNorm over [B, C, H, W]: statistics per image and group of C/32 consecutive channels (biased variance), then
 * a per-channel affine. Written as a LayerNormalization of the [B, 32, C/32·H·W] view, so it needs no op of its own.
 */
export function groupNorm(x: Value, weight: Value, bias: Value): Value {
  const [, c, h, w] = x.shape as [unknown, number, number, number];
  if (c % GROUPS !== 0) throw new Error(`GroupNorm: ${c} channels do not split into ${GROUPS} groups (${x})`);
  let y = reshape(x, [0, GROUPS, (c / GROUPS) * h * w]); // [B, G, C/G·H·W]
  y = layerNorm(y, ones(x, (c / GROUPS) * h * w), null, GN_EPS);
  y = reshape(y, [0, c, h, w]); // [B, C, H, W]
  return add(mul(y, reshape(weight, [c, 1, 1])), reshape(bias, [c, 1, 1]));
}

type Params = (name: string) => Value;

const norm = (x: Value, p: Params, name: string): Value => groupNorm(x, p(`${PREFIX}${name}.weight`), p(`${PREFIX}${name}.bias`));
const convP = (x: Value, p: Params, name: string, stride: number): Value => stdConv(x, p(`${PREFIX}${name}.weight`), stride);

/** A non-pre-activation bottleneck: relu(gn3(conv3(relu(gn2(conv2(relu(gn1(conv1 x)))))) + shortcut). */
function bottleneck(x: Value, p: Params, b: string, stride: number, project: boolean): Value {
  const shortcut = project ? norm(convP(x, p, `${b}.downsample.conv`, stride), p, `${b}.downsample.norm`) : x;
  let y = relu(norm(convP(x, p, `${b}.conv1`, 1), p, `${b}.norm1`));
  y = relu(norm(convP(y, p, `${b}.conv2`, stride), p, `${b}.norm2`));
  y = norm(convP(y, p, `${b}.conv3`, 1), p, `${b}.norm3`);
  return relu(add(y, shortcut));
}

/** The backbone on images [B, C, S, S] → feature map [B, C', S', S'] (S' = featureSize). */
function buildResNetV2(bb: ResNetV2Config, images: Value, p: Params): Value {
  const stem = stemLevel(bb);
  let x = relu(norm(convP(images, p, `${stem}conv`, 2), p, `${stem}norm`));
  x = maxPool2d(x, { kernel: [3, 3], strides: [2, 2], pads: padsFor(x, 3, 2) });
  bb.layers.forEach((blocks, i) => {
    for (let j = 0; j < blocks; j++) x = bottleneck(x, p, `stages.${i}.blocks.${j}`, j === 0 ? stageStride(i) : 1, j === 0);
  });
  return x;
}

/**
 * timm's HybridEmbed: the backbone's feature map, a P×P stride-P projection conv (with bias) to D channels, and
 * its grid cells flattened row-major into tokens [B, N, D].
 */
export function hybridTokens(bb: ResNetV2Config, images: Value, p: Params, patchSize: number): Value {
  const features = buildResNetV2(bb, images, p);
  const y = conv2d(features, p('patch_embed.proj.weight'), p('patch_embed.proj.bias'), { strides: [patchSize, patchSize] }); // [B, D, g, g]
  const [, d, gh, gw] = y.shape as [unknown, number, number, number];
  return transpose(reshape(y, [0, d, gh * gw]), [0, 2, 1]); // [B, D, N] → [B, N, D]
}
