#!/usr/bin/env node
// The dynrank CLI: TypeScript sources run through tsx, with `?raw` shader imports handled as in Vite.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./raw-loader.mjs', import.meta.url);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
