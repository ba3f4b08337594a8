// Messages between the teach page and its worker (teach-worker.ts). Types only. Images travel as the bytes the
// model sees (modelPixels: uint8 C×S×S each), so the worker never decodes files and the page never runs the model.
import type { PreprocessOptions } from '../src/data/preprocess.ts';
import type { ViTConfig } from '../src/model/config.ts';
import type { Device } from '../src/runtime/session-options.ts';
import type { TeachMode, TeachProgress } from '../src/train/teach.ts';

export type ToWorker =
  /** A vitkit checkpoint to start from (the served model, or a file the user picked), and where to run it. */
  | { readonly kind: 'load'; readonly bytes: ArrayBuffer; readonly name: string; readonly device: Device }
  | {
      readonly kind: 'train';
      readonly classes: readonly string[];
      /** n images, as modelPixels bytes, and their class indices. */
      readonly pixels: Uint8Array;
      readonly labels: Int32Array;
      readonly mode: TeachMode;
      readonly steps: number;
      readonly batch: number;
      readonly flip: boolean;
      readonly padCrop: number;
    }
  | { readonly kind: 'stop' }
  | { readonly kind: 'classify'; readonly pixels: Uint8Array }
  | { readonly kind: 'checkpoint' };

export type FromWorker =
  | {
      readonly kind: 'loaded';
      readonly name: string;
      readonly config: ViTConfig;
      readonly preprocess: PreprocessOptions;
      readonly engine: string;
      readonly threads: number;
    }
  | { readonly kind: 'progress'; readonly progress: TeachProgress }
  /** Training ended: all steps done, or stopped by the user (`stopped`). */
  | { readonly kind: 'trained'; readonly last: TeachProgress | null; readonly stopped: boolean }
  /** Logits [n, K] of the images sent with 'classify'. */
  | { readonly kind: 'classified'; readonly logits: Float32Array; readonly classes: readonly string[] }
  | { readonly kind: 'checkpoint'; readonly bytes: ArrayBuffer }
  | { readonly kind: 'error'; readonly message: string };
