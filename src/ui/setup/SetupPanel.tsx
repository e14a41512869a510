// The set-up column: model, data, method and training settings. Locked while a run is being prepared or trained.

import { useStore } from '../../store';
import { DataSection } from './DataSection';
import { MethodSection } from './MethodSection';
import { ModelSection } from './ModelSection';
import { TrainingSection } from './TrainingSection';
import { ErrorNotes } from '../ErrorNotes';

export function SetupPanel() {
  const locked = useStore((s) => s.phase === 'training' || s.phase === 'preparing');
  return (
    <section className="setup" aria-label="Set up">
      <h2>Set up</h2>
      <ModelSection locked={locked} />
      <ErrorNotes areas={['model']} />
      <DataSection locked={locked} />
      <MethodSection locked={locked} />
      <TrainingSection locked={locked} />
      <ErrorNotes areas={['settings']} />
    </section>
  );
}
