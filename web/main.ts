// The browser demo: loads the model `vitkit web` serves (model.onnx + model.json), classifies a dropped or picked
// image with onnxruntime-web, shows the top 5 and the attention-rollout overlay. Preprocessing, ranking and
// rollout are vitkit's own src/ modules: the same code Node runs, not a copy.
import type * as Ort from 'onnxruntime-web';
import { type AttentionMap, attentionLayers, attentionMap } from '../src/analysis/rollout.ts';
import { preprocess } from '../src/data/preprocess.ts';
import type { Tensor } from '../src/graph/tensor.ts';
import { type Prediction, topK } from '../src/inference/top-k.ts';
import type { DemoManifest } from '../src/serve/demo-manifest.ts';
import { webEngine } from '../src/runtime/web-engine.ts';
import { type Decoded, decodeFile, drawView } from './canvas.ts';
import { type PageDevice, deviceLabel, loadOrt, pageDevice } from './device.ts';
import { TeachPage } from './teach.ts';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = el<HTMLParagraphElement>('status');
const view = el<HTMLCanvasElement>('view');
const overlay = el<HTMLInputElement>('overlay');

/** Page states, on <body data-state>: for the CSS, and for tests to wait on. */
type State = 'loading' | 'ready' | 'running' | 'done' | 'error';
const setState = (s: State): void => void (document.body.dataset.state = s);

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} (is this page served by \`vitkit web\`?)`);
  return res;
}

async function loadModel(device: PageDevice) {
  // onnxruntime-web is imported dynamically so it gets a chunk of its own: its WebAssembly threads start workers
  // from that chunk's URL, which must not be this page script (it touches the DOM).
  const [ort, manifest, bytes] = await Promise.all([
    loadOrt(device.device),
    fetchOk('model.json').then((r) => r.json() as Promise<DemoManifest>),
    fetchOk('model.onnx').then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  // Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (webEngine checks).
  const engine = webEngine(ort);
  // an inference session plans its buffers from the first run, as onnxruntime does by default (training ones don't)
  const session = await engine.createSession(bytes, { device: device.device, memoryPattern: true });
  const c = manifest.config;
  // One run on a blank image first, so the time shown for the user's image is the steady state, not start-up.
  const side = c.imgSize;
  await session.run({ images: new ort.Tensor('float32', new Float32Array(c.inChans * side * side), [1, c.inChans, side, side]) });
  const where = deviceLabel(device, engine.threads);
  status.textContent =
    `${manifest.name}: ViT D=${c.embedDim}, depth ${c.depth}, patch ${c.patchSize}, ${c.imgSize} px, ${c.numClasses} classes · ` +
    `onnxruntime-web ${where}${crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`;
  return { ort, manifest, session, where };
}

/** onnxruntime-web outputs as vitkit host tensors, for the shared rollout code. */
function hostTensors(out: Ort.InferenceSession.OnnxValueMapType): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dtype: 'float32', shape: [...t.dims], data: t.data as Float32Array }]));
}

function showPredictions(top: readonly Prediction[]): void {
  el('predictions').replaceChildren(
    ...top.map((p) => {
      const li = document.createElement('li');
      Object.assign(li.dataset, { index: String(p.index), label: p.label, prob: String(p.prob) });
      const label = Object.assign(document.createElement('span'), { textContent: `${p.label} (${p.index})` });
      const pct = Object.assign(document.createElement('span'), { className: 'pct', textContent: `${(100 * p.prob).toFixed(1)}%` });
      const bar = Object.assign(document.createElement('span'), { className: 'bar' });
      bar.style.width = `${(100 * p.prob).toFixed(1)}%`;
      li.append(label, pct, bar);
      return li;
    }),
  );
}

/** The dataset's test images `vitkit web` offers (none for a checkpoint given alone), as buttons that classify them. */
function showSamples(samples: DemoManifest['samples'], pick: (url: string) => Promise<void>): void {
  el('samples').hidden = samples.length === 0;
  el('sample-list').replaceChildren(
    ...samples.map((s) => {
      const button = Object.assign(document.createElement('button'), { type: 'button', title: `a test image of ${s.label}` });
      button.dataset.label = s.label;
      button.append(Object.assign(document.createElement('img'), { src: s.url, alt: s.label }));
      button.addEventListener('click', () => void pick(s.url));
      return button;
    }),
  );
}

/** The two modes, one <main> each: classify with the served model, or teach it new classes. */
function setUpModes(): void {
  const buttons = [...document.querySelectorAll<HTMLButtonElement>('#modes button')];
  for (const b of buttons) {
    b.addEventListener('click', () => {
      for (const other of buttons) {
        other.setAttribute('aria-pressed', String(other === b));
        el(`${other.dataset.mode}-mode`).hidden = other !== b;
      }
    });
  }
}

async function main(): Promise<void> {
  setUpModes();
  const device = await pageDevice(location.search);
  document.body.dataset.device = device.device;
  // the teach worker loads its runtime and the model now, so that nothing is fetched once the page is ready
  const [{ ort, manifest, session, where }] = await Promise.all([loadModel(device), new TeachPage().load(device)]);
  let shown: { decoded: Decoded; map: AttentionMap } | null = null;
  const redraw = (): void => {
    if (shown) drawView(view, shown.decoded.bitmap, manifest.preprocess, overlay.checked ? shown.map : null);
  };

  const classify = async (file: Blob): Promise<void> => {
    setState('running');
    try {
      const t0 = performance.now();
      const decoded = await decodeFile(file);
      const x = preprocess(decoded.image, manifest.preprocess);
      const t1 = performance.now();
      const out = await session.run({ images: new ort.Tensor('float32', x.data, [1, ...x.shape]) });
      const ms = performance.now() - t1;
      showPredictions(topK(out.logits!.data as Float32Array, 5, manifest.labels));
      const layers = attentionLayers(hostTensors(out), manifest.config.depth);
      shown = { decoded, map: attentionMap(layers, 0, { kind: 'rollout' }, manifest.config) };
      redraw();
      const timing = el('timing');
      timing.dataset.ms = String(ms);
      timing.textContent = `inference ${ms.toFixed(1)} ms (${where}) · decoding + preprocessing ${(t1 - t0).toFixed(1)} ms`;
      setState('done');
    } catch (e) {
      status.textContent = `could not classify this file: ${e instanceof Error ? e.message : String(e)}`;
      setState('error');
    }
  };

  showSamples(manifest.samples, (url) => fetchOk(url).then((r) => r.blob()).then(classify));
  const input = el<HTMLInputElement>('file');
  input.addEventListener('change', () => void (input.files?.[0] && classify(input.files[0])));
  overlay.addEventListener('change', redraw);
  const drop = el('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void classify(file);
  });
  setState('ready');
}

main().catch((e: unknown) => {
  status.textContent = `could not load the model: ${e instanceof Error ? e.message : String(e)}`;
  setState('error');
});
