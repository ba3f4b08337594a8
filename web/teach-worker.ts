// The teach page's worker: holds the starting model and the training session on onnxruntime-web (WebGPU, or WASM
// SIMD with threads when the page is cross-origin isolated: the page's choice), so training never blocks the page. Everything it runs is
// vitkit's own src/ code (the same TrainSession, Batches and teach loop Node runs), with the engine injected.
import { imageSet } from '../src/data/image-set.ts';
import type { PreprocessOptions } from '../src/data/preprocess.ts';
import { toOnnx } from '../src/graph/onnx.ts';
import { inferenceGraph } from '../src/model/inference-graph.ts';
import type { Device } from '../src/runtime/session-options.ts';
import type { TrainSession } from '../src/runtime/train-session.ts';
import { webEngine } from '../src/runtime/web-engine.ts';
import { type TeachBase, classifyPixels, taughtWeights, teach, teachSession } from '../src/train/teach.ts';
import { decodeVitkit, encodeVitkit, savedPreprocess } from '../src/weights/vitkit-format.ts';
import { loadOrt } from './device.ts';
import type { FromWorker, ToWorker } from './teach-protocol.ts';

const post = (m: FromWorker, transfer: Transferable[] = []): void => postMessage(m, { transfer });

// Imported once, by the first 'load' (which the page sends before it says it is ready): loading the runtime (and
// starting its threads) fetches files, and all fetching is done by then, so nothing leaves the page afterwards.
let runtime: { device: Device; engine: Promise<ReturnType<typeof webEngine>> } | null = null;

let base: (TeachBase & { name: string }) | null = null;
let trained: { session: TrainSession; classes: readonly string[]; preprocess: PreprocessOptions } | null = null;
let stopRequested = false;

async function load(bytes: ArrayBuffer, name: string, device: Device): Promise<void> {
  runtime ??= { device, engine: loadOrt(device).then((ort) => webEngine(ort)) };
  const c = decodeVitkit(new Uint8Array(bytes), name);
  const preprocess: PreprocessOptions = { ...c.preprocess, imgSize: c.config.imgSize, inChans: c.config.inChans === 1 ? 1 : 3 };
  base = { name, config: c.config, weights: c.weights, preprocess };
  // One inference on a blank image starts the runtime now (see above) and proves the model runs here. Plain
  // attention ops, as training runs them (onnxruntime's fused Attention kernel is wrong on WebGPU: docs/gpu.md).
  const e = await runtime.engine;
  const warm = await e.createSession(toOnnx(inferenceGraph(c.config, c.weights, ['logits'], { kernel: 'plain' })), { device: runtime.device });
  const side = c.config.imgSize;
  await warm.run({ images: new e.Tensor('float32', new Float32Array(c.config.inChans * side * side), [1, c.config.inChans, side, side]) });
  await warm.release();
  const { name: engineName, threads } = e;
  post({ kind: 'loaded', name, config: c.config, preprocess, engine: engineName, threads });
}

async function train(m: Extract<ToWorker, { kind: 'train' }>): Promise<void> {
  if (!base) throw new Error('no model loaded');
  const { config, preprocess } = base;
  const set = imageSet({
    name: 'your images', classes: m.classes, images: m.pixels, labels: m.labels,
    channels: config.inChans === 1 ? 1 : 3, height: config.imgSize, width: config.imgSize,
  });
  await trained?.session.release();
  trained = null;
  if (!runtime) throw new Error('no runtime loaded');
  const session = await teachSession(await runtime.engine, base, m.classes.length, { ...m, device: runtime.device });
  stopRequested = false;
  const last = await teach(session, set, preprocess, m, async (progress) => {
    post({ kind: 'progress', progress });
    // lets a 'stop' message in between steps
    await new Promise((resolve) => setTimeout(resolve, 0));
  }, () => stopRequested);
  trained = { session, classes: m.classes, preprocess };
  post({ kind: 'trained', last, stopped: stopRequested });
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.kind) {
    case 'load':
      return load(m.bytes, m.name, m.device);
    case 'train':
      return train(m);
    case 'stop':
      stopRequested = true;
      return;
    case 'classify': {
      if (!trained) throw new Error('teach the model first');
      const logits = await classifyPixels(trained.session, m.pixels, trained.preprocess);
      return post({ kind: 'classified', logits, classes: trained.classes }, [logits.buffer]);
    }
    case 'checkpoint': {
      if (!trained) throw new Error('teach the model first');
      const { session, classes, preprocess } = trained;
      const chunks = encodeVitkit({
        config: session.config,
        weights: await taughtWeights(session),
        labels: classes,
        preprocess: savedPreprocess(preprocess),
      });
      const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
      return post({ kind: 'checkpoint', bytes: bytes.buffer }, [bytes.buffer]);
    }
  }
}

onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err: unknown) => post({ kind: 'error', message: err instanceof Error ? err.message : String(err) }));
};
