// Stand-in for sharp: dynrank installs @huggingface/transformers for its browser e2e only (transformers.web.js).
throw new Error(
  'sharp is a stub in this repo (tools/npm-stubs/sharp), so @huggingface/transformers runs only in the browser here; ' +
    'for its Node build install it outside the repo, as tools/check_transformersjs.mjs says',
);
