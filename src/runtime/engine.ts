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
}

/**
 * Runs `session` and leaves every output named in `fetches` in that tensor's array, whatever the engine: in place
 * where it can, else by copying the returned outputs in. Callers keep one code path (buffers updated in place) for
 * both.
 */
export async function run(engine: Engine, session: InferenceSession, feeds: Record<string, Tensor>, fetches: Record<string, Tensor>): Promise<void> {
  if (engine.fillsFetches) {
    await session.run(feeds, fetches);
    return;
  }
  const out = await session.run(feeds, Object.keys(fetches));
  for (const [name, t] of Object.entries(fetches)) (t.data as Float32Array).set(out[name]!.data as Float32Array);
}
