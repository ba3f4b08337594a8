// A training session's weights and state kept in GPU memory across steps (device 'webgpu' on an engine with
// deviceOutputs). Each step takes these device tensors as inputs and leaves its updated values on the device as new
// tensors, which replace them (the old ones are freed); only loss, correct count and gradient norm come back to the
// host. The host buffers are written from here only when asked (a checkpoint, parameters()), and read from only
// after a load().
//
// Moving data uses a session over the copy graph (identity per tensor): with its outputs left on the device it
// uploads, fed device tensors it downloads into host buffers. onnxruntime-node exposes no GPUDevice and cannot read a
// device tensor from JavaScript, so a session is the one way across. Peak device memory is twice the state for the
// length of a step (old and new values), as a ping-pong of two sets would be.
import { toOnnx } from '../graph/onnx.ts';
import { buildCopyGraph, copyName } from '../model/step-graph.ts';
import { type Engine, type EngineSession, type EngineTensor, run } from './engine.ts';
import type { SessionOptions } from './session-options.ts';
import { pick } from './train-buffers.ts';

export class DeviceState {
  /** Device tensors by input name; null until the first upload after a load. */
  private resident: Record<string, EngineTensor> | null = null;
  private upload: EngineSession | null = null;
  private download: EngineSession | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly options: SessionOptions,
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
  ) {}

  /** The state as device tensors, uploaded from `host` (tensors by the same names) on first use. */
  async tensors(host: Readonly<Record<string, EngineTensor>>): Promise<Readonly<Record<string, EngineTensor>>> {
    if (this.resident) return this.resident;
    const names = [...this.shapes.keys()];
    this.upload ??= await this.createCopySession(names.map(copyName));
    const out = await run(this.engine, this.upload, pick(host, names), {}, names.map(copyName));
    this.resident = Object.fromEntries(names.map((n) => [n, out[copyName(n)]!]));
    return this.resident;
  }

  /** Adopts device tensors (by input name) as the new values of those tensors, freeing the ones they replace. */
  replace(values: Readonly<Record<string, EngineTensor>>): void {
    if (!this.resident) throw new Error('DeviceState.replace before the state was uploaded');
    for (const [name, t] of Object.entries(values)) {
      this.resident[name]!.dispose();
      this.resident[name] = t;
    }
  }

  /** Copies the device values into `host` (tensors by the same names), in place; a no-op before any upload. */
  async downloadInto(host: Readonly<Record<string, EngineTensor>>): Promise<void> {
    if (!this.resident) return;
    this.download ??= await this.createCopySession([]);
    const fetches = Object.fromEntries([...this.shapes.keys()].map((n) => [copyName(n), host[n]!]));
    await run(this.engine, this.download, this.resident, fetches);
  }

  /** Frees the device tensors: the host buffers hold the state again (after a load()). */
  drop(): void {
    for (const t of Object.values(this.resident ?? {})) t.dispose();
    this.resident = null;
  }

  async release(): Promise<void> {
    this.drop();
    await this.upload?.release();
    await this.download?.release();
  }

  private createCopySession(deviceOutputs: readonly string[]): Promise<EngineSession> {
    return this.engine.createSession(toOnnx(buildCopyGraph(this.shapes)), { ...this.options, deviceOutputs });
  }
}
