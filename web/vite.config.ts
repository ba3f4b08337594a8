// Vite config of the browser demo. `vitkit web` builds with it (see src/serve/web-demo.ts); `npx vite build web`
// does the same by hand. The page imports vitkit's own src/ modules (preprocessing, ranking, rollout) directly.
import { defineConfig } from 'vite';

export default defineConfig({
  // relative asset URLs, so the built page works from any path it is served under
  base: './',
  // the teach worker imports onnxruntime-web dynamically (its own chunk, whose URL the WASM threads start from)
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // onnxruntime-web's WebAssembly binary is ~14 MB by nature; its size is not a bundling mistake
    chunkSizeWarningLimit: 20_000,
    assetsInlineLimit: 0,
  },
});
