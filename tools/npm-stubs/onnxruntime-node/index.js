// Stand-in for onnxruntime-node: dynrank installs @huggingface/transformers for its browser e2e only (transformers.web.js).
throw new Error(
  'onnxruntime-node is a stub in this repo (tools/npm-stubs/onnxruntime-node), so @huggingface/transformers runs only in the browser here; ' +
    'for its Node build install it outside the repo, as tools/check_transformersjs.mjs says',
);
