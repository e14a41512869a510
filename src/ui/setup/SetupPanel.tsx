// The set-up column: model, data, method and training settings. Locked while a run is being prepared or trained.

import type { ReactNode } from 'react';
import { useStore } from '../../store';
import { ErrorNotes } from '../ErrorNotes';
import { DataSection } from './DataSection';
import { MethodSection } from './MethodSection';
import { ModelSection } from './ModelSection';
import { TrainingSection } from './TrainingSection';

export function SetupPanel() {
  return (
    <section className="setup" aria-label="Set up">
      <h2>Set up</h2>
      <Lock>
        <ModelSection />
      </Lock>
      <ErrorNotes areas={['model']} />
      <Lock>
        <DataSection />
        <MethodSection />
        <TrainingSection />
      </Lock>
      <ErrorNotes areas={['settings']} />
    </section>
  );
}

/**
 * A disabled fieldset locks every control of the sections while a run is prepared or trained. Pressing Start then
 * changes one attribute: the sections (created by SetupPanel, which does not re-render) are not rendered again.
 * The error notes stay outside, so their dismiss buttons work during a run.
 */
function Lock({ children }: { children: ReactNode }) {
  const locked = useStore((s) => s.phase === 'training' || s.phase === 'preparing');
  return (
    <fieldset className="setup-lock" disabled={locked}>
      {children}
    </fieldset>
  );
}
