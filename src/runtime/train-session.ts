// A training session: onnxruntime sessions for the step graph (or the grad + apply graphs when accumulating
// gradients) and the eval graph, with parameters and optimizer state held in preallocated host buffers.
//
// Ping-pong: two buffer sets A and B hold every parameter and state tensor. A step feeds set A and has
// onnxruntime write the updated values straight into set B (preallocated output tensors passed as
// `fetches`: onnxruntime-node fills them in place, no copy and no allocation), then the sets swap.
// The ort.Tensor wrappers are made once; nothing parameter-sized is allocated per step.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { toOnnx } from '../graph/onnx.ts';
import { type StateDict, type Tensor, formatShape, numel } from '../graph/tensor.ts';
import { optimizerScalarNames, optimizerScalars, optimizerSlots } from '../autodiff/optim.ts';
import type { ViTConfig } from '../model/config.ts';
import { parameterShapes } from '../model/params.ts';
import {
  type StepGraphOptions,
  accName,
  buildApplyGraph,
  buildEvalGraph,
  buildGradGraph,
  buildStepGraph,
  newName,
  stateName,
} from '../train/step-graph.ts';
import type { SessionOptions } from './session.ts';

export interface TrainSessionOptions extends Omit<StepGraphOptions, 'batch'>, SessionOptions {
  /** Images per optimizer step (= microBatch × gradAccum). */
  readonly batch: number;
  /** Split each step's batch into this many equal micro-batches, accumulating gradients (default 1). */
  readonly gradAccum?: number;
  /** Fixed eval batch; by default the eval graph takes any batch size. */
  readonly evalBatch?: number;
}

export interface StepResult {
  /** Mean loss over the step's batch (the mean of the micro-batch means when accumulating). */
  readonly loss: number;
  /** Examples whose argmax matches the label. */
  readonly correct: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

export interface EvalResult {
  readonly loss: number;
  readonly correct: number;
  /** [B, K] class scores. */
  readonly logits: Tensor<'float32'>;
}

/** Images as a float32 tensor or raw data laid out [B, C, S, S]; labels as int64 [B]. */
export type ImagesInput = Tensor<'float32'> | Float32Array;
export type LabelsInput = Tensor<'int64'> | BigInt64Array;

/** The state-dict key of the optimizer step counter (int64 scalar: updates done so far). */
export const STEP_KEY = 'optimizer.step';

/** One named set of float32 buffers with their ort.Tensor wrappers. */
class BufferSet {
  readonly data = new Map<string, Float32Array>();
  readonly tensors: Record<string, ort.Tensor> = {};
  constructor(shapes: ReadonlyMap<string, readonly number[]>) {
    for (const [name, shape] of shapes) {
      const d = new Float32Array(numel(shape));
      this.data.set(name, d);
      this.tensors[name] = new ort.Tensor('float32', d, [...shape]);
    }
  }
  private readonly views = new Map<string, Record<string, ort.Tensor>>();
  /** The same tensors keyed by another name (e.g. `new.<name>` for fetches); made once per key. */
  renamed(key: 'new' | 'acc' | 'new.acc'): Record<string, ort.Tensor> {
    let v = this.views.get(key);
    if (!v) {
      const f = key === 'new' ? newName : key === 'acc' ? accName : (n: string) => newName(accName(n));
      v = Object.fromEntries(Object.entries(this.tensors).map(([k, t]) => [f(k), t]));
      this.views.set(key, v);
    }
    return v;
  }
}

function scalarTensor(): [Float32Array, ort.Tensor] {
  const d = new Float32Array(1);
  return [d, new ort.Tensor('float32', d, [])];
}

async function createSession(model: Uint8Array, opts: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimization ?? 'all',
    executionMode: 'sequential',
  });
}

export class TrainSession {
  private cur: BufferSet;
  private next: BufferSet;
  private steps = 0;
  private readonly scalarData: Record<string, Float32Array> = {};
  private readonly scalarTensors: Record<string, ort.Tensor> = {};
  private readonly outData: Record<string, Float32Array> = {};
  private readonly outTensors: Record<string, ort.Tensor> = {};
  /** Accumulation buffers: a zero set (never written) and two sets that ping-pong across micro-batches. */
  private readonly acc: { zero: BufferSet; a: BufferSet; b: BufferSet } | null;
  private evalSession: ort.InferenceSession | null = null;

  private constructor(
    readonly config: ViTConfig,
    readonly options: TrainSessionOptions,
    /** name → shape of every parameter and state tensor (state as `<slot>.<param>`). */
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
    readonly paramNames: readonly string[],
    readonly slots: readonly string[],
    private readonly step1: ort.InferenceSession,
    private readonly apply: ort.InferenceSession | null,
    private readonly gradNames: readonly string[],
  ) {
    this.cur = new BufferSet(shapes);
    this.next = new BufferSet(shapes);
    for (const n of [...optimizerScalarNames(options.optimizer), 'loss', 'correct', 'grad_norm']) {
      const [d, t] = scalarTensor();
      if (n === 'loss' || n === 'correct' || n === 'grad_norm') {
        this.outData[n] = d;
        this.outTensors[n] = t;
      } else {
        this.scalarData[n] = d;
        this.scalarTensors[n] = t;
      }
    }
    for (const n of gradNames) {
      const d = new Float32Array(numel(shapes.get(n.slice('grad.'.length))!));
      this.outData[n] = d;
      this.outTensors[n] = new ort.Tensor('float32', d, [...shapes.get(n.slice('grad.'.length))!]);
    }
    if (apply) {
      const ps = new Map(paramNames.map((n) => [n, shapes.get(n)!]));
      this.acc = { zero: new BufferSet(ps), a: new BufferSet(ps), b: new BufferSet(ps) };
    } else this.acc = null;
  }

  /** Builds the graphs, creates the sessions and loads the parameters (optimizer state zero, step 0). */
  static async create(cfg: ViTConfig, params: StateDict, opts: TrainSessionOptions): Promise<TrainSession> {
    const accum = opts.gradAccum ?? 1;
    if (!Number.isInteger(accum) || accum < 1) throw new Error(`gradAccum must be a positive integer, got ${accum}`);
    if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch % accum !== 0) {
      throw new Error(`batch ${opts.batch} must be a positive multiple of gradAccum ${accum}`);
    }
    const micro = opts.batch / accum;
    const slots = optimizerSlots(opts.optimizer);
    const pshapes = parameterShapes(cfg);
    const shapes = new Map<string, readonly number[]>(pshapes);
    for (const s of slots) for (const [n, shape] of pshapes) shapes.set(stateName(s, n), shape);
    let step1: ort.InferenceSession;
    let apply: ort.InferenceSession | null = null;
    let gradNames: string[] = [];
    if (accum === 1) {
      step1 = await createSession(toOnnx(buildStepGraph(cfg, { ...opts, batch: micro }).graph), opts);
      if (opts.exposeGradients) gradNames = [...pshapes.keys()].map((n) => `grad.${n}`);
    } else {
      if (opts.exposeGradients) throw new Error('exposeGradients is only supported without gradient accumulation');
      step1 = await createSession(toOnnx(buildGradGraph(cfg, { batch: micro, labelSmoothing: opts.labelSmoothing }).graph), opts);
      apply = await createSession(toOnnx(buildApplyGraph(cfg, { ...opts, microBatches: accum }).graph), opts);
    }
    const s = new TrainSession(cfg, opts, shapes, [...pshapes.keys()], slots, step1, apply, gradNames);
    s.load(params);
    return s;
  }

  /** Optimizer updates done so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Images per step. */
  get batch(): number {
    return this.options.batch;
  }

  /**
   * One optimizer step on a batch: images [batch, C, S, S], labels [batch], at learning rate `lr`.
   * With gradAccum k, the batch is split into k consecutive micro-batches (views, no copies).
   */
  async step(images: ImagesInput, labels: LabelsInput, lr: number): Promise<StepResult> {
    return this.exclusive(() => this.runStep(images, labels, lr));
  }

  /** Steps and evaluations share the buffers: overlapping calls (a missing await) are refused. */
  private busy = false;
  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error('TrainSession is busy: await each step()/evaluate() before the next');
    this.busy = true;
    try {
      return await f();
    } finally {
      this.busy = false;
    }
  }

  private async runStep(images: ImagesInput, labels: LabelsInput, lr: number): Promise<StepResult> {
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
    const x = imageData(images, this.config, this.batch);
    const y = labelData(labels, this.batch, this.config.numClasses);
    const t = this.steps + 1;
    const scalars = optimizerScalars(this.options.optimizer, lr, t);
    for (const [k, v] of Object.entries(scalars)) this.scalarData[k]![0] = v;
    const { loss, correct, grad_norm } = this.outTensors as Record<'loss' | 'correct' | 'grad_norm', ort.Tensor>;
    const { loss: lossD, correct: correctD, grad_norm: normD } = this.outData as Record<'loss' | 'correct' | 'grad_norm', Float32Array>;
    let result: StepResult;
    if (!this.acc) {
      const feeds = { ...this.cur.tensors, ...this.scalarTensors, ...this.batchTensors(x, y, 0, this.batch) };
      const fetches: Record<string, ort.Tensor> = { ...this.next.renamed('new'), loss, correct, grad_norm };
      for (const n of this.gradNames) fetches[n] = this.outTensors[n]!;
      await this.step1.run(feeds, fetches);
      result = { loss: lossD[0]!, correct: correctD[0]!, gradNorm: normD[0]! };
    } else {
      const k = this.options.gradAccum!;
      const micro = this.batch / k;
      let accIn = this.acc.zero;
      let accOut = this.acc.a;
      let lossSum = 0;
      let correctSum = 0;
      for (let i = 0; i < k; i++) {
        const feeds = { ...this.cur.tensors, ...accIn.renamed('acc'), ...this.batchTensors(x, y, i * micro, micro) };
        await this.step1.run(feeds, { ...accOut.renamed('new.acc'), loss, correct });
        lossSum += lossD[0]!;
        correctSum += correctD[0]!;
        accIn = accOut;
        accOut = accOut === this.acc.a ? this.acc.b : this.acc.a;
      }
      const feeds = { ...this.cur.tensors, ...this.scalarTensors, ...accIn.renamed('acc') };
      await this.apply!.run(feeds, { ...this.next.renamed('new'), grad_norm });
      result = { loss: lossSum / k, correct: correctSum, gradNorm: normD[0]! };
    }
    [this.cur, this.next] = [this.next, this.cur];
    this.steps = t;
    return result;
  }

  private batchTensors(x: Float32Array, y: BigInt64Array, start: number, n: number): Record<string, ort.Tensor> {
    const per = this.config.inChans * this.config.imgSize * this.config.imgSize;
    const s = this.config.imgSize;
    return {
      images: new ort.Tensor('float32', x.subarray(start * per, (start + n) * per), [n, this.config.inChans, s, s]),
      labels: new ort.Tensor('int64', y.subarray(start, start + n), [n]),
    };
  }

  /** Unclipped gradients of the last step (only with `exposeGradients`); views into reused buffers. */
  lastGradients(): StateDict {
    if (this.gradNames.length === 0) throw new Error('gradients are only kept with exposeGradients: true (and gradAccum 1)');
    const out: StateDict = new Map();
    for (const n of this.gradNames) {
      const p = n.slice('grad.'.length);
      out.set(p, { dtype: 'float32', shape: this.shapes.get(p)!, data: this.outData[n]! });
    }
    return out;
  }

  /** Loss, correct count and logits on a batch with the current parameters (any batch size unless evalBatch). */
  async evaluate(images: ImagesInput, labels: LabelsInput): Promise<EvalResult> {
    return this.exclusive(() => this.runEval(images, labels));
  }

  private async runEval(images: ImagesInput, labels: LabelsInput): Promise<EvalResult> {
    const n = labels instanceof BigInt64Array ? labels.length : labels.data.length;
    if (this.options.evalBatch !== undefined && n !== this.options.evalBatch) throw new Error(`evaluate: got ${n} examples, the eval graph takes evalBatch ${this.options.evalBatch}`);
    const x = imageData(images, this.config, n);
    const y = labelData(labels, n, this.config.numClasses);
    if (!this.evalSession) {
      const spec = buildEvalGraph(this.config, { batch: this.options.evalBatch ?? 'batch', labelSmoothing: this.options.labelSmoothing });
      this.evalSession = await createSession(toOnnx(spec.graph), this.options);
    }
    const params: Record<string, ort.Tensor> = {};
    for (const p of this.paramNames) params[p] = this.cur.tensors[p]!;
    const r = await this.evalSession.run({ ...params, ...this.batchTensors(x, y, 0, n) });
    const logits = r['logits']!;
    return {
      loss: (r['loss']!.data as Float32Array)[0]!,
      correct: (r['correct']!.data as Float32Array)[0]!,
      logits: { dtype: 'float32', shape: [...logits.dims], data: logits.data as Float32Array },
    };
  }

  /** Current parameters (copies), in parameterShapes order. */
  parameters(): StateDict {
    const out: StateDict = new Map();
    for (const n of this.paramNames) out.set(n, { dtype: 'float32', shape: this.shapes.get(n)!, data: this.cur.data.get(n)!.slice() });
    return out;
  }

  /**
   * Parameters, optimizer state (`<slot>.<param>`) and the step counter (`optimizer.step`, int64 []),
   * as copies: everything a checkpoint needs to resume exactly.
   */
  state(): StateDict {
    const out: StateDict = new Map();
    for (const [n, shape] of this.shapes) out.set(n, { dtype: 'float32', shape, data: this.cur.data.get(n)!.slice() });
    out.set(STEP_KEY, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(this.steps)) });
    return out;
  }

  /**
   * Loads parameters (required) and optimizer state (optional: missing state means a fresh optimizer,
   * zero state and step 0; partial state is an error). Copies into the current buffer set.
   */
  load(state: StateDict): void {
    const check = (n: string, t: Tensor) => {
      const shape = this.shapes.get(n)!;
      if (t.dtype !== 'float32') throw new Error(`'${n}' is ${t.dtype}, expected float32`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`'${n}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
      }
    };
    for (const n of this.paramNames) {
      const t = state.get(n);
      if (!t) throw new Error(`missing parameter '${n}' (expected shape ${formatShape(this.shapes.get(n)!)})`);
      check(n, t);
    }
    const stateNames = [...this.shapes.keys()].filter((n) => !this.paramNames.includes(n));
    const present = stateNames.filter((n) => state.has(n));
    if (present.length > 0 && present.length < stateNames.length) {
      const missing = stateNames.filter((n) => !state.has(n));
      throw new Error(`optimizer state is incomplete: missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
    }
    for (const n of present) check(n, state.get(n)!);
    const step = state.get(STEP_KEY);
    if (present.length > 0 && stateNames.length > 0 && !step) throw new Error(`optimizer state without '${STEP_KEY}' (needed for AdamW's bias corrections)`);
    for (const n of this.paramNames) this.cur.data.get(n)!.set(state.get(n)!.data as Float32Array);
    for (const n of stateNames) {
      const t = state.get(n);
      if (t) this.cur.data.get(n)!.set(t.data as Float32Array);
      else this.cur.data.get(n)!.fill(0);
    }
    this.steps = step && (present.length > 0 || stateNames.length === 0) ? Number(step.data[0]) : 0;
  }

  async release(): Promise<void> {
    await this.step1.release();
    await this.apply?.release();
    await this.evalSession?.release();
  }
}

function imageData(images: ImagesInput, cfg: ViTConfig, batch: number): Float32Array {
  const expected = [batch, cfg.inChans, cfg.imgSize, cfg.imgSize];
  if (images instanceof Float32Array) {
    if (images.length !== numel(expected)) throw new Error(`images have ${images.length} values, expected ${formatShape(expected)} = ${numel(expected)}`);
    return images;
  }
  if (images.dtype !== 'float32' || images.shape.length !== 4 || images.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`images are ${images.dtype}${formatShape(images.shape)}, expected float32${formatShape(expected)}`);
  }
  return images.data;
}

function labelData(labels: LabelsInput, batch: number, classes: number): BigInt64Array {
  const data = labels instanceof BigInt64Array ? labels : labels.data;
  if (!(labels instanceof BigInt64Array) && (labels.dtype !== 'int64' || labels.shape.length !== 1)) {
    throw new Error(`labels are ${labels.dtype}${formatShape(labels.shape)}, expected int64[${batch}]`);
  }
  if (data.length !== batch) throw new Error(`got ${data.length} labels, expected ${batch}`);
  const k = BigInt(classes);
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < 0n || data[i]! >= k) throw new Error(`label ${data[i]} at index ${i} is out of range [0, ${classes})`);
  }
  return data;
}
