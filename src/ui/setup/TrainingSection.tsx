// Optimisation settings and the advanced section (prune interval, DEM eta, adapter and model dropout, alpha).

import { useId } from 'react';
import { useStore } from '../../store';
import { setSettings } from '../../store/actions';
import { DEFAULT_ALPHA, defaultLr, sftActive } from '../../store/derived';
import { sci } from '../format';
import { NumberField } from '../NumberField';

export function TrainingSection() {
  const s = useStore((st) => st.settings);
  const maxSeq = useStore((st) => st.summary?.maxPositions ?? 1024);
  const sft = useStore(sftActive);
  const recomputeId = useId();
  const set =
    (k: 'batch' | 'seq' | 'steps' | 'seed' | 'pruneInterval' | 'eta' | 'dropout' | 'checkpointEvery') =>
    (v: number | null) =>
      v !== null && setSettings({ [k]: v });
  return (
    <fieldset className="group">
      <legend>Training</legend>
      <div className="grid2">
        <NumberField
          label="Steps"
          value={s.steps}
          integer
          min={1}
          max={1_000_000}
          disabled={!!s.epochs}
          hint={s.epochs ? 'Set by the epochs' : undefined}
          onChange={set('steps')}
        />
        <NumberField
          label="Epochs"
          value={s.epochs ?? null}
          integer
          min={1}
          max={10_000}
          placeholder="off: use steps"
          hint="Passes over the data; set, they decide the steps"
          onChange={(v) => setSettings({ epochs: v })}
        />
        <NumberField
          label="Learning rate"
          value={s.lr}
          min={1e-7}
          max={1}
          placeholder={`auto (${sci(defaultLr(s.method))})`}
          onChange={(v) => setSettings({ lr: v })}
        />
        <NumberField label="Batch size" value={s.batch} integer min={1} max={512} onChange={set('batch')} />
        <NumberField
          label="Micro-batch"
          value={s.microBatch ?? null}
          integer
          min={1}
          max={s.batch}
          placeholder={`off (${s.batch})`}
          hint={
            s.microBatch && s.batch % s.microBatch !== 0
              ? `Must divide the batch size ${s.batch}`
              : 'Rows per pass: the same steps with less GPU memory'
          }
          onChange={(v) => setSettings({ microBatch: v })}
        />
        <NumberField
          label="Sequence length"
          value={s.seq}
          integer
          min={8}
          max={maxSeq}
          hint={sft ? 'The longest example: longer chats are cut' : undefined}
          onChange={set('seq')}
        />
        <NumberField label="Seed" value={s.seed} integer min={0} max={2 ** 31 - 1} onChange={set('seed')} />
        <NumberField
          label="Checkpoint every"
          value={s.checkpointEvery}
          integer
          min={0}
          max={1_000_000}
          hint="Steps between saved checkpoints (also on pause and stop; 0: only then)"
          onChange={set('checkpointEvery')}
        />
      </div>
      <details className="advanced">
        <summary>Advanced</summary>
        <div className="grid2">
          <NumberField
            label="Prune interval"
            value={s.pruneInterval}
            integer
            min={1}
            max={10_000}
            disabled={s.method !== 'dora'}
            hint="Steps between prune events"
            onChange={set('pruneInterval')}
          />
          <NumberField
            label="DEM eta"
            value={s.eta}
            min={0}
            max={10}
            disabled={s.method !== 'dora'}
            hint="Variance regulariser weight"
            onChange={set('eta')}
          />
          <NumberField label="Adapter dropout" value={s.dropout} min={0} max={0.9} onChange={set('dropout')} />
          <NumberField
            label="Alpha"
            value={s.alpha}
            min={0}
            max={1024}
            placeholder={`auto (${DEFAULT_ALPHA})`}
            onChange={(v) => setSettings({ alpha: v })}
          />
          <label className="check">
            <input
              type="checkbox"
              checked={s.modelDropout ?? true}
              onChange={(e) => setSettings({ modelDropout: e.target.checked })}
            />
            <span>Model dropout while training (the model&apos;s config.json rates)</span>
          </label>
          <div className="field">
            <label htmlFor={recomputeId}>Recompute in the backward</label>
            <select
              id={recomputeId}
              value={s.recompute ?? 'auto'}
              onChange={(e) =>
                setSettings({
                  recompute: e.target.value === 'auto' ? null : (e.target.value as NonNullable<typeof s.recompute>),
                })
              }
            >
              <option value="auto">as the memory plan needs</option>
              <option value="none">nothing (fastest, most memory)</option>
              <option value="selective">
                attention probabilities and norm outputs (one attention forward and two norms more per block)
              </option>
              <option value="blocks">whole blocks (least memory, about a third more compute)</option>
            </select>
          </div>
        </div>
      </details>
    </fieldset>
  );
}
