// The picker's bundled list covers every demo folder under public/models, each with the task its config.json gives.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archFor, parseModelConfig } from '../models/arch/index';
import { BUNDLED_MODELS } from './modelSlice';

const MODELS_DIR = join(import.meta.dirname, '..', '..', 'public', 'models');

describe('BUNDLED_MODELS', () => {
  const folders = readdirSync(MODELS_DIR).filter((d) => existsSync(join(MODELS_DIR, d, 'config.json')));

  it('lists every model folder under public/models', () => {
    expect(BUNDLED_MODELS.map((m) => m.id).sort()).toEqual([...folders].sort());
  });

  it.each(folders)('%s: the task and family in the label match its config.json', (id) => {
    const config = parseModelConfig(readFileSync(join(MODELS_DIR, id, 'config.json'), 'utf8'));
    const entry = BUNDLED_MODELS.find((m) => m.id === id);
    expect(entry?.task).toBe(config.task);
    expect(entry?.label).toContain(archFor(config).title(config));
  });
});
