// Encoder classification of one text with the base and the adapted model: probabilities per label.

import { memo, useId, useState } from 'react';
import { useStore } from '../../store';
import { classifyText } from '../../store/actions';
import { pct } from '../format';

/** Memoised: the try panel re-renders with every phase change, the form only when it is enabled or disabled. */
export const ClassifyForm = memo(function ClassifyForm({ disabled }: { disabled: boolean }) {
  const id = useId();
  const [text, setText] = useState('Congratulations! You have won a free cruise. Reply now to claim your prize.');
  const busy = useStore((s) => s.tryBusy);
  const result = useStore((s) => s.classification);
  return (
    <form
      className="try-form"
      onSubmit={(e) => {
        e.preventDefault();
        classifyText(text);
      }}
    >
      <div className="field">
        <label htmlFor={id}>Text to classify</label>
        <textarea id={id} rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <button type="submit" className="primary" disabled={disabled || busy}>
        {busy ? 'Classifying…' : 'Classify'}
      </button>
      {result && (
        <div className="compare" aria-live="polite">
          <Probabilities title="Base model (head untrained)" labels={result.labels} p={result.base} />
          <Probabilities title="Adapted model" labels={result.labels} p={result.adapted} />
          {result.onnx && (
            <>
              <Probabilities title="ONNX (onnxruntime-web)" labels={result.labels} p={result.onnx.probs} />
              <div className="output" role="region" aria-label="ONNX agreement">
                <h3>Exported model vs this engine</h3>
                <p className={result.onnx.agrees ? 'ok' : 'bad'}>
                  {result.onnx.agrees ? 'Agree' : 'Disagree'}: max |Δp| {result.onnx.maxDiff.toExponential(1)} over the
                  labels.
                </p>
              </div>
            </>
          )}
        </div>
      )}
    </form>
  );
});

function Probabilities({ title, labels, p }: { title: string; labels: string[]; p: number[] }) {
  const best = p.indexOf(Math.max(...p));
  return (
    <div className="output" role="region" aria-label={title}>
      <h3>{title}</h3>
      <ul className="bars">
        {p.map((v, i) => (
          <li key={i} className={i === best ? 'best' : ''}>
            <span className="bar-label">{labels[i] ?? `label ${i}`}</span>
            <span className="bar">
              <span style={{ width: pct(v) }} />
            </span>
            <span className="mono">{pct(v)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
