// The onnxruntime a training session runs on, injected rather than imported: onnxruntime-node in Node (the main
// entry), onnxruntime-web in a page (the `vitkit/web` entry). Both implement onnxruntime-common's API, so the
// session code is one; what differs is how a session is made and whether `run` fills preallocated outputs.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { SessionOptions } from './session-options.ts';

export type EngineTensor = Tensor;
export type EngineSession = InferenceSession;

export interface Engine {
  /** Shown in messages and on the page. */
  readonly name: string;
  /** The engine's own Tensor class: each onnxruntime build checks tensors against its own copy. */
  readonly Tensor: typeof Tensor;
  /** A session for a vitkit graph, with vitkit's session settings (threads, optimisation level, spinning). */
  createSession(model: Uint8Array, opts: SessionOptions): Promise<InferenceSession>;
  /**
   * Whether `run(feeds, fetches)` writes the outputs into the fetched tensors' own arrays. onnxruntime-node does
   * (its binding also returns a fresh copy of each output, which run() drops for the garbage collector).
   * onnxruntime-web's WASM backend copies every tensor into its heap and hands the fetched tensors back untouched,
   * so there the results are copied into the buffers after the run (see run()).
   */
  readonly fillsFetches: boolean;
  /**
   * Whether a 'webgpu' session honours SessionOptions.deviceOutputs: outputs left in GPU memory, fed back as inputs
   * of any of the engine's sessions. onnxruntime-node and -web 1.30 both do (preferredOutputLocation 'gpu-buffer').
   * Node cannot read such a tensor from JavaScript (`getData` is not implemented there), so state comes back
   * through a session in both (device-state.ts), one code path.
   */
  readonly deviceOutputs: boolean;
}

/**
 * Runs `session` and leaves every output named in `fetches` in that tensor's array, whatever the engine: in place
 * where it can, else by copying the returned outputs in. Callers keep one code path (buffers updated in place) for
 * both. Outputs named in `onDevice` (made with SessionOptions.deviceOutputs) are returned instead, as device tensors
 * (the others are then copied in: measured with onnxruntime-node 1.30, it leaves preallocated fetches unwritten when
 * some outputs stay on the device).
 */
export async function run(
  engine: Engine,
  session: InferenceSession,
  feeds: Record<string, Tensor>,
  fetches: Record<string, Tensor>,
  onDevice: readonly string[] = [],
): Promise<Record<string, Tensor>> {
  let out: InferenceSession.ReturnType;
  feeds = graphInputs(session, feeds);
  if (engine.fillsFetches && onDevice.length === 0) out = await session.run(feeds, fetches);
  else {
    out = await session.run(feeds, [...Object.keys(fetches), ...onDevice]);
    for (const [name, t] of Object.entries(fetches)) (t.data as Float32Array).set(out[name]!.data as Float32Array);
  }
  return Object.fromEntries(onDevice.map((n) => [n, out[n]!]));
}

/**
 * The feeds `session`'s graph takes. A session holds every parameter, but a graph that starts above a frozen part
 * (model/step-graph.ts GraphStart) reads only those above it: onnxruntime-web refuses a feed the graph lacks
 * (onnxruntime-node ignores it).
 */
export function graphInputs(session: InferenceSession, feeds: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(session.inputNames.filter((n) => n in feeds).map((n) => [n, feeds[n]!]));
}
