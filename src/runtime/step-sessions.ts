// The graphs a TrainSession runs each step and their onnxruntime sessions: the fused step graph, or the grad and
// apply graphs when accumulating gradients over micro-batches. On a GPU that keeps the training state in its memory
// (device-state.ts), the updated state and the summed gradients are made device outputs; there the small tensors'
// updates are packed (model/update-packing.ts) unless the options say otherwise.
import { toOnnx } from '../graph/onnx.ts';
import type { ViTConfig } from '../model/config.ts';
import {
  type StepGraphSpec,
  accName,
  buildApplyGraph,
  buildGradGraph,
  buildStepGraph,
  newName,
  stateName,
  stateSlots,
} from '../model/step-graph.ts';
import { packBelowFor } from '../model/update-packing.ts';
import type { EngineSession } from './engine.ts';
import type { TrainSessionOptions } from './train-session.ts';

export interface StepSessions {
  /** The step graph's spec (the grad graph's, with the optimizer's state slots, when accumulating). */
  readonly spec: StepGraphSpec;
  /** Runs the fused step, or one micro-batch's gradients. */
  readonly step1: EngineSession;
  /** Applies the summed gradients (accumulating only). */
  readonly apply: EngineSession | null;
}

/** Builds the step graph(s) for `opts.batch` split into `opts.gradAccum` micro-batches and creates their sessions. */
export async function createStepSessions(cfg: ViTConfig, given: TrainSessionOptions & { readonly gradAccum: number }): Promise<StepSessions> {
  const opts = { ...given, packBelow: given.packBelow ?? packBelowFor(given.device) };
  const micro = opts.batch / opts.gradAccum;
  const onDevice = (names: Iterable<string>) => (keepsOnDevice(opts) ? { deviceOutputs: [...names].map(newName) } : {});
  if (opts.gradAccum === 1) {
    const spec = buildStepGraph(cfg, { ...opts, batch: micro });
    return { spec, step1: await opts.engine.createSession(toOnnx(spec.graph), { ...opts, ...onDevice(updatedShapes(spec).keys()) }), apply: null };
  }
  if (opts.exposeGradients) throw new Error('exposeGradients is only supported without gradient accumulation');
  const spec = { ...buildGradGraph(cfg, { ...opts, batch: micro }), slots: stateSlots(opts) };
  const applySpec = buildApplyGraph(cfg, { ...opts, microBatches: opts.gradAccum });
  const apply = await opts.engine.createSession(toOnnx(applySpec.graph), { ...opts, ...onDevice(updatedShapes(applySpec).keys()) });
  return { spec, step1: await opts.engine.createSession(toOnnx(spec.graph), { ...opts, ...onDevice(spec.trainable.map(accName)) }), apply };
}

/** The shapes of the tensors a step updates: the trainable parameters, then their state (optimizer slots, EMA). */
export function updatedShapes(spec: Pick<StepGraphSpec, 'params' | 'trainable' | 'slots'>): Map<string, readonly number[]> {
  const shapes = new Map(spec.trainable.map((n) => [n, spec.params.get(n)!] as const));
  for (const s of spec.slots) for (const n of spec.trainable) shapes.set(stateName(s, n), spec.params.get(n)!);
  return shapes;
}

/** Whether a session made with these options keeps its state in GPU memory across steps (see device-state.ts). */
export function keepsOnDevice(o: TrainSessionOptions): boolean {
  return o.device === 'webgpu' && o.engine.deviceOutputs && o.keepOnDevice !== false;
}
