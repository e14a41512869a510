// Try the adapted model beside the base model: text generation for causal LMs, classification for classifiers.

import { useStore } from '../../store';
import { ErrorNotes } from '../ErrorNotes';
import { ChatForm } from './ChatForm';
import { ClassifyForm } from './ClassifyForm';
import { GenerateForm } from './GenerateForm';

export function TryPanel() {
  const run = useStore((s) => s.run);
  const phase = useStore((s) => s.phase);
  const task = useStore((s) => s.run?.task ?? s.summary?.task ?? 'causal-lm');
  const sft = useStore((s) => !!s.run?.sft);
  const ready = phase === 'paused' || phase === 'stopped' || phase === 'done';
  const note = !run
    ? 'Train an adapter first; then compare it with the base model here.'
    : !ready
      ? 'Pause or stop training to try the model.'
      : null;
  return (
    <section className="card try" aria-label="Try it">
      <div className="card-head">
        <h2>Try it</h2>
        {note && <span className="hint">{note}</span>}
      </div>
      {task !== 'causal-lm' ? (
        <ClassifyForm disabled={!ready} />
      ) : sft ? (
        <ChatForm disabled={!ready} />
      ) : (
        <GenerateForm disabled={!ready} />
      )}
      <ErrorNotes areas={['try']} />
    </section>
  );
}
