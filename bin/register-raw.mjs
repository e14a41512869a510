// `node --import ./bin/register-raw.mjs`: registers the `?raw` loader (bin/raw-loader.mjs) for scripts run with tsx.
import { register } from 'node:module';

register('./raw-loader.mjs', import.meta.url);
