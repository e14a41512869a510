// Saved checkpoints (IndexedDB, kept across reloads): each run's latest few, with Resume and Delete.

import { useStore } from '../store';
import { deleteCheckpoint, resumeFromCheckpoint } from '../store/actions';
import { clock, int } from './format';

export function CheckpointsPanel() {
  const list = useStore((s) => s.checkpoints);
  const busy = useStore((s) => s.phase === 'training' || s.phase === 'preparing');
  if (!list.length) return null;
  return (
    <section className="card checkpoints" aria-label="Saved checkpoints">
      <div className="card-head">
        <h2>Saved checkpoints</h2>
        {busy && <span className="hint">Resume is available when training is paused or stopped.</span>}
      </div>
      <ul className="checkpoint-list" aria-label="Checkpoints">
        {list.map((c) => (
          <li key={c.id} data-step={c.step} data-run={c.runId}>
            <span className="ck-name">{c.runName}</span>
            <span className="mono">
              step {int(c.step)} / {int(c.totalSteps)}
            </span>
            <span className="hint">
              {c.modelId} · {c.dataName} · {clock(c.time)}
            </span>
            <span className="ck-actions">
              <button
                type="button"
                disabled={busy}
                aria-label={`Resume from step ${c.step}`}
                onClick={() => resumeFromCheckpoint(c.id)}
              >
                Resume
              </button>
              <button
                type="button"
                className="link"
                disabled={busy}
                aria-label={`Delete the checkpoint at step ${c.step}`}
                onClick={() => deleteCheckpoint(c.id)}
              >
                Delete
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
