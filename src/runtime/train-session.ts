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
// On a GPU (device 'webgpu', engine with deviceOutputs) the trainable set lives in GPU memory instead, across steps:
// see device-state.ts. The host buffers then hold it only after download() (checkpoints) or load().
//
// The onnxruntime is injected (`engine`): onnxruntime-node from the main entry, onnxruntime-web in a page.
import { toOnnx } from '../graph/onnx.ts';
import type { StateDict, Tensor } from '../graph/tensor.ts';
import { optimizerScalarNames, optimizerScalars, optimizerSlots } from '../autodiff/optim.ts';
import type { NoiseSpec } from '../model/noise-masks.ts';
import type { ViTConfig } from '../model/config.ts';
import { withLoraAdapters } from '../model/lora.ts';
import {
  type ExampleInput,
  type StepGraphOptions,
  type StepGraphSpec,
  accName,
  buildEvalGraph,
  exampleInput,
  newName,
  stateName,
} from '../model/step-graph.ts';
import { DeviceState } from './device-state.ts';
import { createStepSessions, keepsOnDevice, updatedShapes } from './step-sessions.ts';
import { type Engine, type EngineSession, type EngineTensor, graphInputs, run } from './engine.ts';
import type { SessionOptions } from './session-options.ts';
import { type BatchData, BufferSet, type ImagesInput, type LabelsInput, type TargetsInput } from './train-buffers.ts';
import { batchTensors, checkLoadState, exampleData, labelData, maskData, pick, scalarTensor, targetData } from './train-buffers.ts';

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
  /**
   * Keep weights, optimizer state and EMA in GPU memory across steps (device 'webgpu'; default true where the
   * engine can, see Engine.deviceOutputs). false copies them to the GPU and back every step (to measure that cost).
   */
  readonly keepOnDevice?: boolean;
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
  /** The trainable and frozen sets in GPU memory, when the session keeps them there (else null). */
  private readonly device: DeviceState | null;
  /** Whether the device holds newer values than the host buffers (a step ran since the last download or load). */
  private hostStale = false;
  /** Every parameter, in parameterShapes order. */
  readonly paramNames: readonly string[];
  /** What step() and evaluate() take per example: an image, or what the session's `start` says (the head's input, a block's). */
  readonly input: ExampleInput;

  private constructor(
    readonly config: ViTConfig,
    readonly options: TrainSessionOptions,
    private readonly spec: StepGraphSpec,
    private readonly step1: EngineSession,
    private readonly apply: EngineSession | null,
  ) {
    const engine = (this.engine = options.engine);
    const updated = updatedShapes(spec);
    const frozen = new Map([...spec.params].filter(([n]) => !spec.trainable.includes(n)));
    this.paramNames = [...spec.params.keys()];
    this.input = exampleInput(config, options.start);
    this.cur = new BufferSet(engine, updated);
    this.frozen = new BufferSet(engine, frozen);
    this.device = keepsOnDevice(options) ? new DeviceState(engine, options, new Map([...updated, ...frozen])) : null;
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
    const { spec, step1, apply } = await createStepSessions(cfg, { ...opts, gradAccum: accum });
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

  /** Whether weights and optimizer state stay in GPU memory between steps (see device-state.ts). */
  get stateOnDevice(): boolean {
    return this.device !== null;
  }

  /**
   * One optimizer step on a batch: images [batch, C, S, S] (or what a session made with a `start` reads:
   * see `input`), labels [batch] (or soft targets [batch, K] for a session made with `softTargets`), at
   * learning rate `lr`, with the keep-masks of `masks` when the graph has dropout or drop path. With gradAccum k,
   * the batch is split into k consecutive micro-batches (views, no copies).
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
    throw new Error(
      `a training step failed inside onnxruntime (${why}), so the weights may be partly updated: ` +
        'load() a checkpoint before using this session again',
    );
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

  private async runStep(
    images: ImagesInput,
    labels: LabelsInput | TargetsInput,
    lr: number,
    masks?: ReadonlyMap<string, Uint8Array>,
  ): Promise<StepResult> {
    this.checkUsable();
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
    const { numClasses: k } = this.config;
    const batch: BatchData = {
      x: exampleData(images, this.input, this.batch),
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

  /** One run of the fused step graph, writing parameters and state in place (or replacing them on the device). */
  private async fusedStep(batch: BatchData): Promise<StepResult> {
    const { loss, correct, grad_norm } = this.outTensors;
    const feeds = { ...(await this.stateInputs()), ...this.scalarTensors, ...this.batchTensors(batch, 0, this.batch) };
    await this.runUpdate(this.step1, feeds, { loss, correct, grad_norm, ...this.gradTensors });
    const out = this.outData;
    return { loss: out.loss[0]!, correct: out.correct[0]!, gradNorm: out.grad_norm[0]! };
  }

  /**
   * The grad graph on each micro-batch, summing into `acc` (in place on the host; on the device, each sum a new
   * tensor that replaces the last), then the apply graph.
   */
  private async accumulatedStep(batch: BatchData, acc: BufferSet): Promise<StepResult> {
    const { loss, correct, grad_norm } = this.outTensors;
    const out = this.outData;
    const accum = this.options.gradAccum!;
    const micro = this.batch / accum;
    const state = await this.stateInputs();
    const params = pick(state, [...this.spec.trainable, ...this.frozen.data.keys()]);
    const summed = this.spec.trainable.map((n) => newName(accName(n)));
    for (const d of acc.data.values()) d.fill(0);
    let sums: Record<string, EngineTensor> = acc.renamed('acc', accName);
    let lossSum = 0;
    let correctSum = 0;
    for (let i = 0; i < accum; i++) {
      const feeds = { ...params, ...sums, ...this.batchTensors(batch, i * micro, micro) };
      if (!this.device) await run(this.engine, this.step1, feeds, { ...acc.renamed('new.acc', (n) => newName(accName(n))), loss, correct });
      else {
        const next = await run(this.engine, this.step1, feeds, { loss, correct }, summed);
        if (i > 0) for (const t of Object.values(sums)) t.dispose();
        sums = Object.fromEntries(this.spec.trainable.map((n, j) => [accName(n), next[summed[j]!]!]));
      }
      lossSum += out.loss[0]!;
      correctSum += out.correct[0]!;
    }
    await this.runUpdate(this.apply!, { ...pick(state, [...this.cur.data.keys()]), ...this.scalarTensors, ...sums }, { grad_norm });
    if (this.device) for (const t of Object.values(sums)) t.dispose();
    return { loss: lossSum / accum, correct: correctSum, gradNorm: out.grad_norm[0]! };
  }

  /** The trainable and frozen sets as inputs: device tensors when the session keeps them there, else the host buffers. */
  private async stateInputs(): Promise<Readonly<Record<string, EngineTensor>>> {
    const host = { ...this.cur.tensors, ...this.frozen.tensors };
    return this.device ? this.device.tensors(host) : host;
  }

  /** Runs a graph that outputs `new.<name>` for the trainable set: into the host buffers, or replacing it on the device. */
  private async runUpdate(session: EngineSession, feeds: Record<string, EngineTensor>, fetches: Record<string, EngineTensor>): Promise<void> {
    if (!this.device) {
      await run(this.engine, session, feeds, { ...this.cur.renamed('new', newName), ...fetches });
      return;
    }
    const names = [...this.cur.data.keys()];
    const out = await run(this.engine, session, feeds, fetches, names.map(newName));
    this.device.replace(Object.fromEntries(names.map((n) => [n, out[newName(n)]!])));
    this.hostStale = true;
  }

  private batchTensors(b: BatchData, start: number, n: number): Record<string, EngineTensor> {
    return batchTensors(this.engine, this.config, this.input, this.spec.masks, b, start, n);
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
    const { evalBatch } = this.options;
    if (evalBatch !== undefined && n !== evalBatch) {
      throw new Error(`evaluate: got ${n} examples, the eval graph takes evalBatch ${evalBatch}`);
    }
    const batch: BatchData = { x: exampleData(images, this.input, n), y: labelData(labels, n, this.config.numClasses), masks: new Map() };
    if (!this.evalSession) {
      const { evalBatch, labelSmoothing, lora, start } = this.options;
      const spec = buildEvalGraph(this.config, { batch: evalBatch ?? 'batch', labelSmoothing, lora, start });
      this.evalSession = await this.engine.createSession(toOnnx(spec.graph), this.options);
    }
    const state = await this.stateInputs();
    const params = pick(state, [...this.frozen.data.keys()]);
    for (const p of this.spec.trainable) params[p] = state[this.weightName(p, which)]!;
    const r = await this.evalSession.run(graphInputs(this.evalSession, { ...params, ...this.batchTensors(batch, 0, n) }));
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

  /** The frozen parameters (copies): never updated, so readable whatever the device holds. */
  frozenParameters(): StateDict {
    this.checkUsable();
    return new Map([...this.frozen.data].map(([n, data]) => [n, { dtype: 'float32', shape: this.spec.params.get(n)!, data: data.slice() }]));
  }

  /** Current parameters (copies), in parameterShapes order; `{ ema: true }` gives the EMA weights. */
  parameters(which: WeightsChoice = {}): StateDict {
    this.checkUsable();
    if (this.hostStale) throw new Error('the weights are in GPU memory since the last step: await download() before parameters() or state()');
    const out: StateDict = new Map();
    for (const n of this.paramNames) {
      const data = this.frozen.data.get(n) ?? this.cur.data.get(this.weightName(n, which))!;
      out.set(n, { dtype: 'float32', shape: this.spec.params.get(n)!, data: data.slice() });
    }
    return out;
  }

  /**
   * Copies the weights and state from GPU memory into the host buffers that parameters() and state() read (a no-op
   * when they are current: on the CPU, or no step since the last download or load).
   */
  async download(): Promise<void> {
    return this.exclusive(async () => {
      this.checkUsable();
      if (!this.hostStale) return;
      await this.device!.downloadInto({ ...this.cur.tensors, ...this.frozen.tensors });
      this.hostStale = false;
    });
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
    const { optimizerState, ema, haveOptimizer, haveEma } = checkLoadState(state, this.spec, optimizerSlots(this.options.optimizer));
    const trainable = this.spec.trainable;
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
    this.device?.drop();
    this.hostStale = false;
  }

  async release(): Promise<void> {
    await this.device?.release();
    await this.step1.release();
    await this.apply?.release();
    await this.evalSession?.release();
  }
}
