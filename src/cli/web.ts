// vitkit web [--checkpoint PATH]: the in-browser demo (onnxruntime-web) for a checkpoint, served locally.
import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { loadModel } from '../inference/classifier.ts';
import { demoSamples } from '../serve/demo-samples.ts';
import { DEFAULT_DEMO_DIR, createDemoServer, demoPage } from '../serve/web-demo.ts';
import { loadOptionsFromFlags, modelFlags, modelFlagsHelp, numberFlag, parseCommand } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { noteUnstatedPreprocess } from './preprocess-flags.ts';

/** The best model of `npm start`'s run, and the dataset it learnt. */
const DEFAULT_RUN = 'runs/fashion-mnist/best.safetensors';
const DEFAULT_SAMPLES = 'fashion-mnist';

const help = `
Usage: vitkit web [--checkpoint PATH] [--samples DATA] [--port 8081] [--host 127.0.0.1] [options]

Serves a page that runs the model in the browser with onnxruntime-web, on WebGPU where the browser has it, else
WebAssembly (SIMD, threads); ?device=webgpu|wasm in the page's URL forces one. Drop or pick
an image to see the top-5 classes, the attention-rollout overlay and the inference time. The model is exported
to ONNX with logits and per-layer attention; nothing leaves the browser. Its "Teach" mode fine-tunes the model
in the page on classes and images of your own (2–10 classes; the head only or the whole model, in a worker),
classifies new images with the result and downloads it as a vitkit checkpoint that every command loads. The installed package ships the page
built; in a vitkit checkout it is built with Vite the first time (and after its sources change), into
${DEFAULT_DEMO_DIR}.
Without --checkpoint it shows the model \`npm start\` trains (${DEFAULT_RUN}), with Fashion-MNIST test images.
  --samples DATA   offer two test images per class of DATA to click (a dataset as --data takes: fashion-mnist,
                   mnist, an IDX, CIFAR-10 or ImageFolder directory)
  --host H         address to listen on (default 127.0.0.1)
  --port N         TCP port (default 8081; 0 picks a free one)
${
  /* the browser picks its own threads and device; the page runs float32 (or int8) */
  modelFlagsHelp.replace(/\n\s+--(threads|device|precision) .*$(\n {20,}.*$)*/gm, '')
}
`;

const { threads: _threads, device: _device, precision: _precision, ...pageModelFlags } = modelFlags;
const options = { ...pageModelFlags, samples: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('web', argv, options, help);
  if (!args) return;
  const { values: v, positionals } = args;
  const checkpoint = v.checkpoint ?? (existsSync(DEFAULT_RUN) ? DEFAULT_RUN : undefined);
  if (!checkpoint) throw new UserError(`web: pass --checkpoint PATH, or train ${DEFAULT_RUN} first with \`npm start\` (see vitkit web --help)`);
  const samplesFrom = v.samples ?? (v.checkpoint ? undefined : DEFAULT_SAMPLES);
  if (positionals.length) throw new UserError(`web: unexpected argument '${positionals[0]}' (see vitkit web --help)`);
  const port = numberFlag('port', v.port, 8081, { integer: true, min: 0 });
  const host = v.host ?? '127.0.0.1';
  const model = loadModel(await localCheckpoint(checkpoint, v.revision), loadOptionsFromFlags(v));
  // before the page is built or samples decoded: the page classifies, so a feature extractor has nothing to show
  if (model.config.numClasses === 0) {
    throw new UserError(
      `web: ${checkpoint} has no classifier head: the page shows class predictions (vitkit embed gives its features; vitkit finetune adds a head)`,
    );
  }
  noteUnstatedPreprocess(checkpoint, model.preprocess);
  const samples = samplesFrom ? await demoSamples(samplesFrom) : [];
  const page = await demoPage();
  if (page.built) console.log('vitkit web: built the page');
  const app = createDemoServer(model, page.dir, samples);
  const url = await app.listen({ host, port }).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`web: cannot listen on ${host}:${port} (${e.code ?? e.message}): pick another --port`);
  });
  // Tests and scripts read the address from this line (with --port 0 it is the only place it appears).
  console.log(`vitkit web: open ${url} (model ${checkpoint}; Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => void app.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
