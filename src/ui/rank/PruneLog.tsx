// The prune events, newest first: when, how many components went, how many are left. A long run prunes thousands
// of times; the list shows the latest SHOWN so a training step does not redraw an ever longer list.

import { memo } from 'react';
import { type AppState, useStore } from '../../store';
import type { PruneEntry } from '../../store/trainingSlice';
import { int } from '../format';
import { useStoreTransition } from '../useStoreTransition';

const SHOWN = 100;
const selectLog = (s: AppState) => s.pruneLog;

/** Memoised: the rank panel re-renders every step, this list only when an event is logged (in a transition render). */
export const PruneLog = memo(function PruneLog() {
  const log = useStoreTransition(selectLog);
  const method = useStore((s) => s.run?.method);
  return (
    <div className="prune-log">
      <h3>Prune events</h3>
      {log.length === 0 ? (
        <p className="empty">
          {method === 'lora' ? 'LoRA keeps every component.' : 'None yet: pruning starts after 15% of the steps.'}
        </p>
      ) : (
        <ol aria-label="Prune events" reversed start={log.length}>
          {log
            .slice(-SHOWN)
            .reverse()
            .map((e) => (
              <PruneRow key={e.step} e={e} />
            ))}
        </ol>
      )}
      {log.length > SHOWN && <p className="hint">{int(log.length - SHOWN)} earlier events not listed.</p>}
    </div>
  );
});

/** One event; entries never change once logged, so a step re-renders only the new rows. */
const PruneRow = memo(function PruneRow({ e }: { e: PruneEntry }) {
  return (
    <li>
      <span className="mono">step {int(e.step)}</span> pruned {int(e.removed)}
      {e.revived > 0 && (
        <span title="Components whose importance rose back above the threshold">, revived {int(e.revived)}</span>
      )}{' '}
      · {int(e.live)} live
    </li>
  );
});
