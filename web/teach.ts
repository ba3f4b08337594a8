// The page's teach mode: classes with images from the file picker or drag-and-drop, a training run in a worker
// (teach-worker.ts) with a live chart, progress bar, images/s and a stop button, then classifying new images with
// the result and downloading it as a vitkit checkpoint. Images are decoded here and reduced to the pixels the
// model sees (modelPixels, the same code as Node's preprocess); they never leave the page.
import { type PreprocessOptions, modelPixels } from '../src/data/preprocess.ts';
import type { DemoManifest } from '../src/serve/demo-manifest.ts';
import type { TeachMode, TeachProgress } from '../src/train/teach.ts';
import { drawChart } from './chart.ts';
import { decodeFile } from './canvas.ts';
import { type PageDevice, deviceLabel } from './device.ts';
import type { FromWorker, ToWorker } from './teach-protocol.ts';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const MIN_CLASSES = 2;
const MAX_CLASSES = 10;
const THUMB = 28;

/** Teach states, on <body data-teach>: for the CSS and the buttons, and for tests to wait on. */
type TeachState = 'loading' | 'idle' | 'training' | 'trained' | 'classifying' | 'error';
function setState(s: TeachState): void {
  document.body.dataset.teach = s;
  el<HTMLButtonElement>('teach-start').disabled = s !== 'idle' && s !== 'trained' && s !== 'error';
  el<HTMLButtonElement>('teach-stop').disabled = s !== 'training';
  el<HTMLButtonElement>('teach-download').disabled = s !== 'trained';
  el<HTMLInputElement>('teach-try').disabled = s !== 'trained';
}

interface ClassRow {
  readonly root: HTMLElement;
  readonly name: HTMLInputElement;
  readonly pixels: Uint8Array[];
}

export class TeachPage {
  private readonly worker = new Worker(new URL('./teach-worker.ts', import.meta.url), { type: 'module' });
  private readonly rows: ClassRow[] = [];
  private preprocess: PreprocessOptions | null = null;
  private device: PageDevice = { device: 'cpu', adapter: null };
  private history = { loss: [] as number[], accuracy: [] as number[], steps: 1 };
  private waiting: ((m: FromWorker) => void) | null = null;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(`the teach worker failed: ${e.message}`);
    el('add-class').addEventListener('click', () => this.addClass());
    el('teach-start').addEventListener('click', () => void this.start());
    el('teach-stop').addEventListener('click', () => this.send({ kind: 'stop' }));
    el('teach-download').addEventListener('click', () => void this.download());
    const tryInput = el<HTMLInputElement>('teach-try');
    tryInput.addEventListener('change', () => void this.classify([...(tryInput.files ?? [])]));
    dropTarget(el('try-drop'), (files) => void this.classify(files));
    const ckpt = el<HTMLInputElement>('teach-checkpoint');
    ckpt.addEventListener('change', () => void (ckpt.files?.[0] && this.loadFile(ckpt.files[0])));
    for (let i = 0; i < MIN_CLASSES; i++) this.addClass();
  }

  /**
   * Starts the worker's runtime on `device` and loads the model the page serves (model.safetensors) into it;
   * resolves when the worker can train.
   */
  async load(device: PageDevice): Promise<void> {
    this.device = device;
    const get = async (url: string): Promise<Response> => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return res;
    };
    const [{ name }, bytes] = await Promise.all([
      get('model.json').then((r) => r.json() as Promise<DemoManifest>),
      get('model.safetensors').then((r) => r.arrayBuffer()),
    ]);
    await this.loadBytes(bytes, name);
  }

  private async loadFile(file: File): Promise<void> {
    await this.loadBytes(await file.arrayBuffer(), file.name).catch((e: unknown) => this.fail(String(e instanceof Error ? e.message : e)));
  }

  private async loadBytes(bytes: ArrayBuffer, name: string): Promise<void> {
    setState('loading');
    const m = await this.request({ kind: 'load', bytes, name, device: this.device.device }, [bytes]);
    if (m.kind !== 'loaded') throw new Error(m.kind === 'error' ? m.message : `unexpected ${m.kind}`);
    this.preprocess = m.preprocess;
    // images already added were reduced for the previous model's input size: start the classes afresh
    for (const r of this.rows) r.pixels.length = 0;
    this.rows.forEach((r) => this.showRow(r));
    const c = m.config;
    el('teach-base').textContent =
      `${m.name} (ViT D=${c.embedDim}, depth ${c.depth}, ${c.imgSize} px) on ${m.engine}, ${deviceLabel(this.device, m.threads)}`;
    setState('idle');
  }

  private send(m: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** Sends a message and waits for the worker's next answer that is not training progress. */
  private request(m: ToWorker, transfer: Transferable[] = []): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.send(m, transfer);
    });
  }

  private receive(m: FromWorker): void {
    if (m.kind === 'progress') return this.showProgress(m.progress);
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) waiting(m);
    else if (m.kind === 'error') this.fail(m.message);
  }

  private fail(message: string): void {
    el('teach-stats').textContent = message;
    setState('error');
  }

  private addClass(): void {
    if (this.rows.length >= MAX_CLASSES) return;
    const root = document.createElement('div');
    root.className = 'class';
    const name = Object.assign(document.createElement('input'), {
      className: 'class-name',
      value: `class ${this.rows.length + 1}`,
      ariaLabel: 'class name',
    });
    const files = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/*', multiple: true, className: 'class-files' });
    const add = Object.assign(document.createElement('button'), { type: 'button', textContent: 'add images' });
    add.addEventListener('click', () => files.click());
    const count = Object.assign(document.createElement('span'), { className: 'count' });
    const thumbs = Object.assign(document.createElement('div'), { className: 'thumbs' });
    files.hidden = true;
    root.append(name, add, files, count, thumbs);
    const row: ClassRow = { root, name, pixels: [] };
    files.addEventListener('change', () => void this.addImages(row, [...(files.files ?? [])]));
    dropTarget(root, (f) => void this.addImages(row, f));
    this.rows.push(row);
    el('classes').append(root);
    this.showRow(row);
    el<HTMLButtonElement>('add-class').disabled = this.rows.length >= MAX_CLASSES;
  }

  private async addImages(row: ClassRow, files: File[]): Promise<void> {
    if (!this.preprocess) return;
    const thumbs = row.root.querySelector('.thumbs')!;
    for (const f of files) {
      const { bitmap, image } = await decodeFile(f).catch(() => ({ bitmap: null, image: null }));
      if (!image || !bitmap) continue; // not an image: skipped, the count shows what was taken
      row.pixels.push(modelPixels(image, this.preprocess));
      if (thumbs.childElementCount < 24) {
        const c = Object.assign(document.createElement('canvas'), { width: THUMB, height: THUMB });
        c.getContext('2d')!.drawImage(bitmap, 0, 0, THUMB, THUMB);
        thumbs.append(c);
      }
    }
    this.showRow(row);
  }

  private showRow(row: ClassRow): void {
    row.root.dataset.images = String(row.pixels.length);
    row.root.querySelector('.count')!.textContent = `${row.pixels.length} image${row.pixels.length === 1 ? '' : 's'}`;
    if (row.pixels.length === 0) row.root.querySelector('.thumbs')!.replaceChildren();
  }

  private async start(): Promise<void> {
    const used = this.rows.filter((r) => r.pixels.length > 0);
    if (used.length < MIN_CLASSES) return this.fail(`add images to at least ${MIN_CLASSES} classes`);
    const n = used.reduce((s, r) => s + r.pixels.length, 0);
    const per = used[0]!.pixels[0]!.length;
    const pixels = new Uint8Array(n * per);
    const labels = new Int32Array(n);
    let i = 0;
    used.forEach((r, k) => r.pixels.forEach((p) => (pixels.set(p, i * per), (labels[i++] = k))));
    const steps = Math.max(1, Math.floor(Number(el<HTMLInputElement>('teach-steps').value)) || 20);
    const batch = Math.min(n, Math.max(1, Math.floor(Number(el<HTMLInputElement>('teach-batch').value)) || 16));
    const msg: ToWorker = {
      kind: 'train',
      classes: used.map((r) => r.name.value.trim() || r.name.placeholder),
      pixels,
      labels,
      mode: el<HTMLSelectElement>('teach-mode-select').value as TeachMode, // index.html's options are TeachModes (parsed in the worker)
      steps,
      batch,
      flip: el<HTMLInputElement>('teach-flip').checked,
      padCrop: el<HTMLInputElement>('teach-crop').checked ? Math.max(1, Math.round((this.preprocess?.imgSize ?? 32) / 8)) : 0,
    };
    this.history = { loss: [], accuracy: [], steps };
    this.showProgress(null);
    el('teach-results').replaceChildren();
    setState('training');
    const m = await this.request(msg, [pixels.buffer]);
    if (m.kind !== 'trained') return this.fail(m.kind === 'error' ? m.message : `unexpected ${m.kind}`);
    const stats = el('teach-stats');
    stats.dataset.stopped = String(m.stopped);
    const p = m.last;
    if (p) {
      stats.textContent = `${m.stopped ? 'stopped after' : 'done:'} ${p.step} step${p.step > 1 ? 's' : ''} in ${p.seconds.toFixed(1)} s · ` +
        `last loss ${p.loss.toFixed(3)} · ${p.imagesPerSec.toFixed(0)} images/s · now try it on new images`;
    }
    setState('trained');
  }

  private showProgress(p: TeachProgress | null): void {
    const bar = el<HTMLProgressElement>('teach-progress');
    const stats = el('teach-stats');
    if (!p) {
      bar.value = 0;
      stats.dataset.step = '0';
      stats.textContent = 'building the training graph…';
    } else {
      this.history.loss.push(p.loss);
      this.history.accuracy.push(p.accuracy);
      bar.max = p.steps;
      bar.value = p.step;
      Object.assign(stats.dataset, { step: String(p.step), imagesPerSec: String(p.imagesPerSec), seconds: String(p.seconds) });
      stats.textContent =
        `step ${p.step}/${p.steps} · loss ${p.loss.toFixed(3)} · batch accuracy ${(100 * p.accuracy).toFixed(0)}% · ` +
        `${p.imagesPerSec.toFixed(0)} images/s`;
    }
    const chart = el<HTMLCanvasElement>('teach-chart');
    chart.dataset.loss = JSON.stringify(this.history.loss);
    drawChart(chart, this.history);
  }

  private async classify(files: File[]): Promise<void> {
    if (!this.preprocess || document.body.dataset.teach !== 'trained' || files.length === 0) return;
    setState('classifying');
    const pre = this.preprocess;
    const decoded = await Promise.all(
      files.map((f) => decodeFile(f).then((d) => ({ file: f, bitmap: d.bitmap, pixels: modelPixels(d.image, pre) }))),
    );
    const per = decoded[0]!.pixels.length;
    const pixels = new Uint8Array(decoded.length * per);
    decoded.forEach((d, i) => pixels.set(d.pixels, i * per));
    const m = await this.request({ kind: 'classify', pixels }, [pixels.buffer]);
    if (m.kind !== 'classified') return this.fail(m.kind === 'error' ? m.message : `unexpected ${m.kind}`);
    const k = m.classes.length;
    el('teach-results').replaceChildren(
      ...decoded.map((d, i) => {
        const logits = Array.from(m.logits.subarray(i * k, (i + 1) * k));
        const best = logits.indexOf(Math.max(...logits));
        const li = document.createElement('li');
        Object.assign(li.dataset, { file: d.file.name, label: m.classes[best]!, logits: JSON.stringify(logits) });
        const c = Object.assign(document.createElement('canvas'), { width: THUMB, height: THUMB });
        c.getContext('2d')!.drawImage(d.bitmap, 0, 0, THUMB, THUMB);
        li.append(c, Object.assign(document.createElement('span'), { textContent: m.classes[best]! }));
        return li;
      }),
    );
    setState('trained');
  }

  private async download(): Promise<void> {
    const m = await this.request({ kind: 'checkpoint' });
    if (m.kind !== 'checkpoint') return this.fail(m.kind === 'error' ? m.message : `unexpected ${m.kind}`);
    const url = URL.createObjectURL(new Blob([m.bytes], { type: 'application/octet-stream' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: 'taught.safetensors' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Makes `target` take dropped files (highlighted while something is dragged over it). */
function dropTarget(target: HTMLElement, take: (files: File[]) => void): void {
  target.addEventListener('dragover', (e) => {
    e.preventDefault();
    target.classList.add('over');
  });
  target.addEventListener('dragleave', () => target.classList.remove('over'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    target.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) take(files);
  });
}
