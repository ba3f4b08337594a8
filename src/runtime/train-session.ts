// A training session: onnxruntime sessions for the step graph (or the grad + apply graphs when accumulating
// gradients) and the eval graph, with parameters and optimizer state held in preallocated host buffers.
//
// In place: one buffer set holds every trainable parameter and its state (optimizer slots, EMA). A step feeds it and
// has onnxruntime write the updated values back into the same buffers (preallocated output tensors passed as
// `fetches`, aliasing the feeds: onnxruntime-node fills them in place; onnxruntime-web's results are copied in, see
// engine.ts). That is safe because the step graph orders every update after every read
// of the old values (see `update` in model/step-graph.ts), and it halves the memory a ping-pong of two sets took
// (3 × 23 MB for ViT-Ti with AdamW, 3 × 346 MB for ViT-B). Frozen parameters (fine-tuning a head on a frozen
// backbone) live in a second set that is fed every step and never written. The tensor wrappers are made once;
// vitkit allocates nothing parameter-sized per step (onnxruntime-node's binding still returns a copy of each output,
// which is dropped).
//
// The onnxruntime is injected (`engine`): onnxruntime-node from the main entry, onnxruntime-web in a page.
import { toOnnx } from '../graph/onnx.ts';
import { type StateDict, type Tensor, formatShape } from '../graph/tensor.ts';
import { optimizerScalarNames, optimizerScalars, optimizerSlots } from '../autodiff/optim.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import type { ViTConfig } from '../model/config.ts';
import { withLoraAdapters } from '../model/lora.ts';
import {
  type StepGraphOptions,
  type StepGraphSpec,
  accName,
  buildApplyGraph,
  buildEvalGraph,
  buildGradGraph,
  buildStepGraph,
  newName,
  stateName,
  stateSlots,
} from '../model/step-graph.ts';
import { type Engine, type EngineSession, type EngineTensor, run } from './engine.ts';
import type { SessionOptions } from './session-options.ts';
import {
  BufferSet,
  type ImagesInput,
  type LabelsInput,
  type TargetsInput,
  imageData,
  labelData,
  maskData,
  scalarTensor,
  targetData,
} from './train-buffers.ts';

export type { ImagesInput, LabelsInput, TargetsInput } from './train-buffers.ts';

export interface TrainSessionOptions extends Omit<StepGraphOptions, 'batch'>, SessionOptions {
  /** The onnxruntime to run on: `nodeEngine` (main entry) or `webEngine(ort)` (`vitkit/web`). */
  readonly engine: Engine;
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
  /** Examples whose argmax matches the label (the targets' argmax with soft targets). */
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

/** Which weights a read or an evaluation uses: the trained ones, or their EMA (sessions made with `ema`). */
export interface WeightsChoice {
  readonly ema?: boolean;
}

/** The state-dict key of the optimizer step counter (int64 scalar: updates done so far). */
export const STEP_KEY = 'optimizer.step';

const OUTPUTS = ['loss', 'correct', 'grad_norm'] as const;
type OutputName = (typeof OUTPUTS)[number];

export class TrainSession {
  /** Trainable parameters and their state: fed every step and overwritten with the updated values. */
  private readonly cur: BufferSet;
  /** Frozen parameters: fed every step, never written. */
  private readonly frozen: BufferSet;
  private steps = 0;
  private readonly scalarData: Record<string, Float32Array> = {};
  private readonly scalarTensors: Record<string, EngineTensor> = {};
  private readonly outData = {} as Record<OutputName, Float32Array>;
  private readonly outTensors = {} as Record<OutputName, EngineTensor>;
  private readonly gradData: Record<string, Float32Array> = {};
  private readonly gradTensors: Record<string, EngineTensor> = {};
  /** Summed gradients across micro-batches (zeroed before each step's first, then added to in place). */
  private readonly acc: BufferSet | null;
  private evalSession: EngineSession | null = null;
  private readonly engine: Engine;
  /** Every parameter, in parameterShapes order. */
  readonly paramNames: readonly string[];

  private constructor(
    readonly config: ViTConfig,
    readonly options: TrainSessionOptions,
    private readonly spec: StepGraphSpec,
    private readonly step1: EngineSession,
    private readonly apply: EngineSession | null,
  ) {
    const engine = (this.engine = options.engine);
    const updated = new Map<string, readonly number[]>();
    for (const n of spec.trainable) updated.set(n, spec.params.get(n)!);
    for (const s of spec.slots) for (const n of spec.trainable) updated.set(stateName(s, n), spec.params.get(n)!);
    this.paramNames = [...spec.params.keys()];
    this.cur = new BufferSet(engine, updated);
    this.frozen = new BufferSet(engine, new Map([...spec.params].filter(([n]) => !spec.trainable.includes(n))));
    for (const n of optimizerScalarNames(options.optimizer)) [this.scalarData[n], this.scalarTensors[n]] = scalarTensor(engine);
    for (const n of OUTPUTS) [this.outData[n], this.outTensors[n]] = scalarTensor(engine);
    if (options.exposeGradients) {
      const grads = new BufferSet(engine, new Map(spec.trainable.map((n) => [n, spec.params.get(n)!])));
      for (const n of spec.trainable) {
        this.gradData[n] = grads.data.get(n)!;
        this.gradTensors[`grad.${n}`] = grads.tensors[n]!;
      }
    }
    const ps = new Map(spec.trainable.map((n) => [n, spec.params.get(n)!]));
    this.acc = apply ? new BufferSet(engine, ps) : null;
  }

  /**
   * Builds the graphs, creates the sessions and loads the parameters (optimizer state zero, EMA = parameters, step 0;
   * with `lora`, fresh adapters unless `params` holds them).
   */
  static async create(cfg: ViTConfig, params: StateDict, opts: TrainSessionOptions): Promise<TrainSession> {
    const accum = opts.gradAccum ?? 1;
    if (!Number.isInteger(accum) || accum < 1) throw new Error(`gradAccum must be a positive integer, got ${accum}`);
    if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch % accum !== 0) {
      throw new Error(`batch ${opts.batch} must be a positive multiple of gradAccum ${accum}`);
    }
    const micro = opts.batch / accum;
    let spec: StepGraphSpec;
    let apply: EngineSession | null = null;
    if (accum === 1) spec = buildStepGraph(cfg, { ...opts, batch: micro });
    else {
      if (opts.exposeGradients) throw new Error('exposeGradients is only supported without gradient accumulation');
      spec = { ...buildGradGraph(cfg, { ...opts, batch: micro }), slots: stateSlots(opts) };
      apply = await opts.engine.createSession(toOnnx(buildApplyGraph(cfg, { ...opts, microBatches: accum }).graph), opts);
    }
    const step1 = await opts.engine.createSession(toOnnx(spec.graph), opts);
    const s = new TrainSession(cfg, opts, spec, step1, apply);
    s.load(opts.lora ? withLoraAdapters(cfg, params, opts.lora) : params);
    return s;
  }

  /** Names of the parameters the optimizer updates (all but the frozen ones). */
  get trainable(): readonly string[] {
    return this.spec.trainable;
  }

  /** Keep-masks each step needs (per-example shapes): draw them with the batch (Batches' `noise` option). */
  get masks(): readonly NoiseSpec[] {
    return this.spec.masks;
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
   * One optimizer step on a batch: images [batch, C, S, S], labels [batch] (or soft targets [batch, K] for a
   * session made with `softTargets`), at learning rate `lr`, with the keep-masks of `masks` when the graph has
   * dropout or drop path. With gradAccum k, the batch is split into k consecutive micro-batches (views, no copies).
   */
  async step(images: ImagesInput, labels: LabelsInput | TargetsInput, lr: number, masks?: ReadonlyMap<string, Uint8Array>): Promise<StepResult> {
    return this.exclusive(() => this.runStep(images, labels, lr, masks));
  }

  /**
   * The engine's error when a step failed in onnxruntime: the updates write the buffers in place, so they may hold
   * a mix of old and new values, and everything but load() is refused until a load() overwrites them.
   */
  private failed: unknown = null;

  private checkUsable(): void {
    if (this.failed === null) return;
    const why = this.failed instanceof Error ? this.failed.message : String(this.failed);
    throw new Error(`a training step failed inside onnxruntime (${why}), so the weights may be partly updated: load() a checkpoint before using this session again`);
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

  private async runStep(images: ImagesInput, labels: LabelsInput | TargetsInput, lr: number, masks?: ReadonlyMap<string, Uint8Array>): Promise<StepResult> {
    this.checkUsable();
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
    const { numClasses: k } = this.config;
    const batch: BatchData = {
      x: imageData(images, this.config, this.batch),
      y: this.options.softTargets ? targetData(labels, this.batch, k) : labelData(labels, this.batch, k),
      masks: maskData(masks, this.spec.masks, this.batch),
    };
    const t = this.steps + 1;
    for (const [name, v] of Object.entries(optimizerScalars(this.options.optimizer, lr, t))) this.scalarData[name]![0] = v;
    let result: StepResult;
    try {
      result = this.acc ? await this.accumulatedStep(batch, this.acc) : await this.fusedStep(batch);
    } catch (e) {
      this.failed = e;
      throw e;
    }
    this.steps = t;
    return result;
  }

  /** One run of the fused step graph, writing parameters and state in place. */
  private async fusedStep(batch: BatchData): Promise<StepResult> {
    const { loss, correct, grad_norm } = this.outTensors;
    const feeds = { ...this.cur.tensors, ...this.frozen.tensors, ...this.scalarTensors, ...this.batchTensors(batch, 0, this.batch) };
    await run(this.engine, this.step1, feeds, { ...this.cur.renamed('new', newName), loss, correct, grad_norm, ...this.gradTensors });
    const out = this.outData;
    return { loss: out.loss[0]!, correct: out.correct[0]!, gradNorm: out.grad_norm[0]! };
  }

  /** The grad graph on each micro-batch, summing into `acc` in place, then the apply graph. */
  private async accumulatedStep(batch: BatchData, acc: BufferSet): Promise<StepResult> {
    const { loss, correct, grad_norm } = this.outTensors;
    const out = this.outData;
    const accum = this.options.gradAccum!;
    const micro = this.batch / accum;
    const params = Object.fromEntries(this.spec.trainable.map((n) => [n, this.cur.tensors[n]!]));
    for (const d of acc.data.values()) d.fill(0);
    let lossSum = 0;
    let correctSum = 0;
    for (let i = 0; i < accum; i++) {
      const feeds = { ...params, ...this.frozen.tensors, ...acc.renamed('acc', accName), ...this.batchTensors(batch, i * micro, micro) };
      await run(this.engine, this.step1, feeds, { ...acc.renamed('new.acc', (n) => newName(accName(n))), loss, correct });
      lossSum += out.loss[0]!;
      correctSum += out.correct[0]!;
    }
    const feeds = { ...this.cur.tensors, ...this.scalarTensors, ...acc.renamed('acc', accName) };
    await run(this.engine, this.apply!, feeds, { ...this.cur.renamed('new', newName), grad_norm });
    return { loss: lossSum / accum, correct: correctSum, gradNorm: out.grad_norm[0]! };
  }

  /** Examples [start, start + n) of a batch as the engine's tensors (views, no copies). */
  private batchTensors(b: BatchData, start: number, n: number): Record<string, EngineTensor> {
    const { inChans: c, imgSize: s, numClasses: k } = this.config;
    const per = c * s * s;
    const T = this.engine.Tensor;
    const out: Record<string, EngineTensor> = {
      images: new T('float32', b.x.subarray(start * per, (start + n) * per), [n, c, s, s]),
      ...(b.y instanceof BigInt64Array
        ? { labels: new T('int64', b.y.subarray(start, start + n), [n]) }
        : { targets: new T('float32', b.y.subarray(start * k, (start + n) * k), [n, k]) }),
    };
    for (const m of b.masks.size ? this.spec.masks : []) {
      const size = m.shape.reduce((a, d) => a * d, 1);
      out[m.name] = new T('uint8', b.masks.get(m.name)!.subarray(start * size, (start + n) * size), [n, ...m.shape]);
    }
    return out;
  }

  /** Unclipped gradients of the trainable parameters at the last step (only with `exposeGradients`); views into reused buffers. */
  lastGradients(): StateDict {
    if (!this.options.exposeGradients) throw new Error('gradients are only kept with exposeGradients: true (and gradAccum 1)');
    return new Map(this.spec.trainable.map((n) => [n, { dtype: 'float32', shape: this.spec.params.get(n)!, data: this.gradData[n]! }]));
  }

  /** Loss, correct count and logits on a batch (any batch size unless evalBatch), with the current weights or their EMA. */
  async evaluate(images: ImagesInput, labels: LabelsInput, which: WeightsChoice = {}): Promise<EvalResult> {
    return this.exclusive(() => this.runEval(images, labels, which));
  }

  private async runEval(images: ImagesInput, labels: LabelsInput, which: WeightsChoice): Promise<EvalResult> {
    this.checkUsable();
    const n = labels instanceof BigInt64Array ? labels.length : labels.data.length;
    if (this.options.evalBatch !== undefined && n !== this.options.evalBatch) throw new Error(`evaluate: got ${n} examples, the eval graph takes evalBatch ${this.options.evalBatch}`);
    const batch: BatchData = { x: imageData(images, this.config, n), y: labelData(labels, n, this.config.numClasses), masks: new Map() };
    if (!this.evalSession) {
      const spec = buildEvalGraph(this.config, { batch: this.options.evalBatch ?? 'batch', labelSmoothing: this.options.labelSmoothing, lora: this.options.lora });
      this.evalSession = await this.engine.createSession(toOnnx(spec.graph), this.options);
    }
    const params: Record<string, EngineTensor> = { ...this.frozen.tensors };
    for (const p of this.spec.trainable) params[p] = this.cur.tensors[this.weightName(p, which)]!;
    const r = await this.evalSession.run({ ...params, ...this.batchTensors(batch, 0, n) });
    const logits = r['logits']!;
    return {
      loss: (r['loss']!.data as Float32Array)[0]!,
      correct: (r['correct']!.data as Float32Array)[0]!,
      logits: { dtype: 'float32', shape: [...logits.dims], data: logits.data as Float32Array },
    };
  }

  /** The buffer holding a trainable parameter's weights: itself, or its EMA. */
  private weightName(param: string, which: WeightsChoice): string {
    if (!which.ema) return param;
    if (!this.spec.slots.includes('ema')) throw new Error('this session keeps no EMA of the weights (create it with ema: decay)');
    return stateName('ema', param);
  }

  /** Current parameters (copies), in parameterShapes order; `{ ema: true }` gives the EMA weights. */
  parameters(which: WeightsChoice = {}): StateDict {
    this.checkUsable();
    const out: StateDict = new Map();
    for (const n of this.paramNames) {
      const data = this.frozen.data.get(n) ?? this.cur.data.get(this.weightName(n, which))!;
      out.set(n, { dtype: 'float32', shape: this.spec.params.get(n)!, data: data.slice() });
    }
    return out;
  }

  /**
   * Parameters, state (`<slot>.<param>`: optimizer moments, EMA) and the step counter (`optimizer.step`, int64 []),
   * as copies: everything a checkpoint needs to resume exactly.
   */
  state(): StateDict {
    const out = this.parameters();
    for (const [n, d] of this.cur.data) if (!out.has(n)) out.set(n, { dtype: 'float32', shape: this.cur.tensors[n]!.dims, data: d.slice() });
    out.set(STEP_KEY, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(this.steps)) });
    return out;
  }

  /**
   * Loads parameters (required), optimizer state and EMA (optional: missing optimizer state means a fresh
   * optimizer, zero state and step 0; a missing EMA starts at the parameters; partial state is an error). Copies
   * into the current buffer set.
   */
  load(state: StateDict): void {
    const check = (n: string, shape: readonly number[]) => {
      const t = state.get(n)!;
      if (t.dtype !== 'float32') throw new Error(`'${n}' is ${t.dtype}, expected float32`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`'${n}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
      }
    };
    for (const [n, shape] of this.spec.params) {
      if (!state.has(n)) throw new Error(`missing parameter '${n}' (expected shape ${formatShape(shape)})`);
      check(n, shape);
    }
    const trainable = this.spec.trainable;
    const optimizerState = optimizerSlots(this.options.optimizer).flatMap((s) => trainable.map((n) => stateName(s, n)));
    const ema = this.spec.slots.includes('ema') ? trainable.map((n) => stateName('ema', n)) : [];
    const present = (names: readonly string[], what: string): boolean => {
      const have = names.filter((n) => state.has(n));
      if (have.length > 0 && have.length < names.length) {
        const missing = names.filter((n) => !state.has(n));
        throw new Error(`${what} is incomplete: missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
      }
      for (const n of have) check(n, this.cur.tensors[n]!.dims);
      return have.length > 0;
    };
    const haveOptimizer = present(optimizerState, 'optimizer state');
    const haveEma = present(ema, 'EMA state');
    const step = state.get(STEP_KEY);
    if (haveOptimizer && !step) throw new Error(`optimizer state without '${STEP_KEY}' (needed for AdamW's bias corrections)`);
    for (const n of this.paramNames) (this.frozen.data.get(n) ?? this.cur.data.get(n)!).set(state.get(n)!.data as Float32Array);
    for (const n of optimizerState) {
      if (haveOptimizer) this.cur.data.get(n)!.set(state.get(n)!.data as Float32Array);
      else this.cur.data.get(n)!.fill(0);
    }
    trainable.forEach((p, i) => {
      if (ema.length) this.cur.data.get(ema[i]!)!.set((haveEma ? state.get(ema[i]!)! : state.get(p)!).data as Float32Array);
    });
    this.steps = step && (haveOptimizer || optimizerState.length === 0) ? Number(step.data[0]) : 0;
    this.failed = null;
  }

  async release(): Promise<void> {
    await this.step1.release();
    await this.apply?.release();
    await this.evalSession?.release();
  }
}

/** One step's validated batch: images, labels or soft targets, keep-masks by input name. */
interface BatchData {
  readonly x: Float32Array;
  readonly y: BigInt64Array | Float32Array;
  readonly masks: ReadonlyMap<string, Uint8Array>;
}
