// The frozen part below where a training graph starts (model/step-graph.ts GraphStart), as an inference session on
// the training's own engine (onnxruntime-node, or -web in a page): images → what the step graph reads, the head's
// input ('features') or the tokens entering block k. A run that trains nothing below that point, with nothing random
// there, computes it once per image (train/cached-features.ts for `vitkit train`/`finetune`, train/teach.ts for the
// page) instead of once per step.
import { toOnnx } from '../graph/onnx.ts';
import { type StateDict, numel } from '../graph/tensor.ts';
import type { ViTConfig } from '../model/config.ts';
import { attentionKernelFor } from '../model/fused-attention.ts';
import { parameterShapes } from '../model/params.ts';
import { exampleInput } from '../model/step-graph.ts';
import type { CachedStart } from '../model/trainable.ts';
import { inferenceGraph, prefixGraph } from '../model/inference-graph.ts';
import type { Engine, EngineSession } from './engine.ts';
import type { SessionOptions } from './session-options.ts';

export class FrozenPart {
  private constructor(
    private readonly engine: Engine,
    private readonly session: EngineSession,
    private readonly config: ViTConfig,
    private readonly output: 'pooled' | 'tokens',
    /** Values per image of the output. */
    readonly size: number,
  ) {}

  /** The part of `weights` (the model's parameters; other entries are ignored) below `start`, on `opts.device`. */
  static async create(engine: Engine, config: ViTConfig, weights: StateDict, start: CachedStart, opts: SessionOptions = {}): Promise<FrozenPart> {
    const kernel = attentionKernelFor(opts.device ?? 'cpu');
    const frozen = new Map([...parameterShapes(config).keys()].filter((n) => weights.has(n)).map((n) => [n, weights.get(n)!])); // not optimizer state
    // the head's input: the model without its head (the head trains, and may be absent from `weights`)
    const graph = start === 'features'
      ? inferenceGraph({ ...config, numClasses: 0 }, frozen, ['pooled'], { kernel })
      : prefixGraph(config, frozen, start.block, { kernel });
    const session = await engine.createSession(toOnnx(graph), opts);
    const output = start === 'features' ? 'pooled' : 'tokens';
    return new FrozenPart(engine, session, config, output, numel(exampleInput(config, start).shape));
  }

  /** The output for `n` normalised images laid out [n, C, S, S]: n × `size` values. */
  async run(images: Float32Array, n: number): Promise<Float32Array> {
    const { inChans: c, imgSize: s } = this.config;
    const out = await this.session.run({ images: new this.engine.Tensor('float32', images, [n, c, s, s]) }, [this.output]);
    return out[this.output]!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
