// The contract between `vitkit web` and the page it serves (model.json). Types only, so the browser can import it.
import type { PreprocessOptions } from '../data/preprocess.ts';
import type { ViTConfig } from '../model/config.ts';

/** What the page fetches as model.json: everything it needs besides the ONNX bytes (model.onnx). */
export interface DemoManifest {
  /** The checkpoint's name, shown on the page. */
  readonly name: string;
  readonly labels: readonly string[];
  /** The checkpoint's preprocessing, applied in the browser by the same preprocess() as in Node. */
  readonly preprocess: PreprocessOptions;
  readonly config: ViTConfig;
  /** Dataset images the page offers to click (served under `url`), with their true classes. */
  readonly samples: readonly { readonly url: string; readonly label: string }[];
}
