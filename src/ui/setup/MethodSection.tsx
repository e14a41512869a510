// Method (dynamic rank or LoRA), its rank settings, the module types to adapt, and the live trainable count.

import { useStore } from '../../store';
import { setSettings } from '../../store/actions';
import { effectiveR0, trainableCount } from '../../store/derived';
import { compact, int, pct } from '../format';
import { NumberField } from '../NumberField';

export function MethodSection() {
  const s = useStore((st) => st.settings);
  const summary = useStore((st) => st.summary);
  const labels = useStore((st) => st.preview?.labels?.length ?? 2);
  const count = summary ? trainableCount(summary, s, labels) : null;
  const toggle = (t: string, on: boolean) =>
    setSettings({ targets: on ? [...s.targets, t] : s.targets.filter((x) => x !== t) });
  return (
    <fieldset className="group">
      <legend>Method</legend>
      <div className="segmented" role="radiogroup" aria-label="Method">
        {(['dora', 'lora'] as const).map((m) => (
          <label key={m} className={s.method === m ? 'on' : ''}>
            <input
              type="radio"
              name="method"
              value={m}
              checked={s.method === m}
              onChange={() => setSettings({ method: m })}
            />
            {m === 'dora' ? 'Dynamic rank' : 'LoRA'}
          </label>
        ))}
      </div>
      <p className="hint">
        {s.method === 'dora'
          ? 'Starts every module with R0 rank-one components and prunes the least important ones until b(T) per module remain on average (Mao et al., 2024).'
          : 'A fixed rank r in every adapted module (Hu et al., 2021).'}
      </p>
      {s.method === 'dora' ? (
        <div className="grid2">
          <NumberField
            label="Final budget b(T)"
            value={s.budget}
            integer
            min={1}
            max={64}
            onChange={(v) => v !== null && setSettings({ budget: v })}
          />
          <NumberField
            label="Initial components R0"
            value={s.r0}
            integer
            min={s.budget}
            max={96}
            placeholder={`auto (${Math.ceil(1.5 * s.budget)})`}
            onChange={(v) => setSettings({ r0: v })}
          />
        </div>
      ) : (
        <NumberField
          label="Rank r"
          value={s.rank}
          integer
          min={1}
          max={64}
          onChange={(v) => v !== null && setSettings({ rank: v })}
        />
      )}
      {summary && (
        <div className="field">
          <span className="label" id="targets-label">
            Module types to adapt
          </span>
          <div className="checks" role="group" aria-labelledby="targets-label">
            {summary.moduleTypes.map((t) => (
              <label key={t} className="check">
                <input type="checkbox" checked={s.targets.includes(t)} onChange={(e) => toggle(t, e.target.checked)} />
                <span className="mono">{t}</span>
              </label>
            ))}
          </div>
        </div>
      )}
      {count && summary && (
        <p className="trainable" aria-live="polite" data-testid="trainable">
          <strong>{int(count.total)}</strong> trainable parameters ({pct(count.total / summary.parameters, 2)} of{' '}
          {compact(summary.parameters)}) in {count.modules} modules{count.head ? `, head ${int(count.head)}` : ''}.{' '}
          {s.method === 'dora'
            ? `${count.modules} × R0 = ${count.modules * effectiveR0(s)} components, pruned to ${count.finalComponents}.`
            : `${count.finalComponents} components.`}
        </p>
      )}
    </fieldset>
  );
}
