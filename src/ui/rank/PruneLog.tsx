// Every prune event: when, how many components went, how many are left.

import { useStore } from '../../store';
import { int } from '../format';

export function PruneLog() {
  const log = useStore((s) => s.pruneLog);
  const method = useStore((s) => s.run?.method);
  return (
    <div className="prune-log">
      <h3>Prune events</h3>
      {log.length === 0
        ? <p className="empty">{method === 'lora' ? 'LoRA keeps every component.' : 'None yet: pruning starts after 15% of the steps.'}</p>
        : (
          <ol aria-label="Prune events" reversed>
            {[...log].reverse().map((e) => (
              <li key={e.step}>
                <span className="mono">step {int(e.step)}</span> pruned {int(e.removed)}
                {e.revived > 0 && <span title="Components whose importance rose back above the threshold">, revived {int(e.revived)}</span>} · {int(e.live)} live
              </li>
            ))}
          </ol>
        )}
    </div>
  );
}
