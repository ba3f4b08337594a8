// Test harness page (built by train-parity.test.ts, never shipped): runs vitkit's TrainSession on onnxruntime-web
// for a case the test serves (case.safetensors: initial parameters, images, labels, and the session options in
// the metadata) and hands back the state after each step, so Node can compare it with onnxruntime-node's.
// `runCase(n)` runs only the first n steps (the benchmark's warm-up, to subtract).
import { decodeSafetensors, encodeSafetensors, TrainSession, webEngine } from '../../../src/browser.ts';
import type { StateDict } from '../../../src/graph/tensor.ts';
import { type Freeze, trainableRule } from '../../../src/train/recipe.ts';
import { parseTrainSelection, selectionRule } from '../../../src/model/trainable.ts';
import { loadOrt } from '../../../web/device.ts';

interface Case {
  readonly config: Parameters<typeof TrainSession.create>[0];
  readonly options: Omit<Parameters<typeof TrainSession.create>[2], 'engine' | 'trainable'>;
  /** Which weights train (a rule is not JSON): as `vitkit train --freeze`. */
  readonly freeze?: Freeze;
  /** Or a `--train` choice (e.g. 'lora:8'; model/trainable.ts), which wins over `freeze`. */
  readonly train?: string;
  /** One step per learning rate. */
  readonly lrs: readonly number[];
  /** Hand back the state after each step (default true; a benchmark only wants the times). */
  readonly states?: boolean;
  /** WebAssembly threads (default: webEngine's); fixed by the first case a page runs. */
  readonly threads?: number;
}

async function runCase(steps?: number): Promise<{ states: string[]; threads: number; stepMs: number[]; stateOnDevice: boolean }> {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await (await fetch('case.safetensors')).arrayBuffer()), 'case.safetensors');
  const c = JSON.parse(metadata.case!) as Case;
  // the page's own choice of build for the case's device (options.device: WebGPU, or the CPU's WASM)
  const engine = webEngine(await loadOrt(c.options.device ?? 'cpu'), { threads: c.threads });
  const params: StateDict = new Map([...tensors].filter(([n]) => n !== 'images' && n !== 'labels'));
  const selection = c.train ? parseTrainSelection(c.train) : undefined;
  const trainable = selection ? selectionRule(c.config, selection) : trainableRule(c.freeze);
  const session = await TrainSession.create(c.config, params, { ...c.options, trainable, lora: selection?.lora, engine });
  const states: string[] = [];
  const stepMs: number[] = [];
  for (const lr of c.lrs.slice(0, steps)) {
    const t0 = performance.now();
    await session.step(tensors.get('images')!.data as Float32Array, tensors.get('labels')!.data as BigInt64Array, lr);
    stepMs.push(performance.now() - t0);
    if (c.states === false) continue;
    await session.download();
    // base64 of the safetensors bytes: a compact string for Playwright to carry back
    const bytes = new Blob(encodeSafetensors(session.state()) as BlobPart[]);
    const url = await new Promise<string>((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result as string);
      r.readAsDataURL(bytes);
    });
    states.push(url.slice(url.indexOf(',') + 1));
  }
  return { states, threads: engine.threads, stepMs, stateOnDevice: session.stateOnDevice };
}

(window as unknown as { runCase: typeof runCase }).runCase = runCase;
document.body.dataset.state = 'ready';
