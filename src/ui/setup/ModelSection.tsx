// Model choice and its architecture summary: layers, width, parameters, adaptable modules.

import { useId } from 'react';
import { useStore } from '../../store';
import { selectModel } from '../../store/actions';
import { compact } from '../format';
import { ModelSource } from './ModelSource';

export function ModelSection() {
  const id = useId();
  const models = useStore((s) => s.models);
  const modelId = useStore((s) => s.modelId);
  const summary = useStore((s) => s.summary);
  const loading = useStore((s) => s.modelLoading);
  return (
    <fieldset className="group">
      <legend>Model</legend>
      <div className="field">
        <label htmlFor={id}>Pretrained model</label>
        <select id={id} value={modelId} onChange={(e) => void selectModel(e.target.value)}>
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
      </div>
      <ModelSource />
      {loading && <p className="hint">Reading the model files…</p>}
      {summary && (
        <dl className="facts" aria-label="Architecture">
          <div>
            <dt>Type</dt>
            <dd>{`${summary.title} (${summary.task === 'causal-lm' ? 'causal LM' : 'classifier'})`}</dd>
          </div>
          <div>
            <dt>Layers</dt>
            <dd>{summary.layers}</dd>
          </div>
          <div>
            <dt>Hidden</dt>
            <dd>
              {summary.hidden} · {summary.heads} heads
            </dd>
          </div>
          <div>
            <dt>Parameters</dt>
            <dd>{compact(summary.parameters)}</dd>
          </div>
          <div>
            <dt>Vocabulary</dt>
            <dd>{compact(summary.vocab)}</dd>
          </div>
          <div>
            <dt>Adaptable</dt>
            <dd>
              {summary.modules.length} linears ({summary.moduleTypes.length} per layer)
            </dd>
          </div>
        </dl>
      )}
    </fieldset>
  );
}
