import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Cross-origin isolation lets onnxruntime-web use wasm threads; the same headers are set for preview builds.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  server: { headers: isolation, host: '127.0.0.1' },
  preview: { headers: isolation, host: '127.0.0.1' },
  worker: { format: 'es' },
  // Scan the training worker too, so its dependencies (fflate, papaparse, tokenizers) are pre-bundled at start-up
  // instead of being discovered mid-session, which makes the dev server reload the page. onnxruntime-web's wasm build
  // is imported lazily by the worker (src/worker/onnxRuntime.ts): listed so it is pre-bundled at start-up too. Its
  // .wasm file is imported with ?url there, which vite serves in dev and emits as an asset in a build, and handed to
  // ort.env.wasm.wasmPaths: the pre-bundled copy's own import.meta.url lookup would miss it. The e2e's test-only
  // transformers.js page is scanned as well, for the same reason; a build bundles index.html alone.
  optimizeDeps: {
    entries: ['index.html', 'src/worker/worker.ts', 'e2e/pages/transformersjs.html'],
    include: ['onnxruntime-web/wasm'],
  },
  build: { target: 'es2022', sourcemap: true },
});
