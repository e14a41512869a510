// onnxruntime-web for the page's worker: the wasm-only build, its .wasm file served by vite (an asset URL, no
// network), one thread (the worker is already off the page's main thread). Imported lazily, on the first ONNX try.

import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import * as ort from 'onnxruntime-web/wasm';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

export { ort };
