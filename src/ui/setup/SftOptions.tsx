// Instruction tuning of a causal LM on an instruction file: on/off, the format the rows are read as, whether the
// prompt is trained on too, and the worker's rendering of the first examples.

import { useId } from 'react';
import { useStore } from '../../store';
import { setSft } from '../../store/actions';
import { SFT_FORMAT_CHOICES } from '../../store/sftPreview';
import { SftPreviewView } from './SftPreviewView';

/** The set-up panel's locked fieldset disables these controls while a run is prepared or trained. */
export function SftOptions() {
  const id = useId();
  const sft = useStore((s) => s.settings.sft ?? null);
  const detected = useStore((s) => s.preview?.instructionFormat ?? null);
  const preview = useStore((s) => s.sftPreview);
  const loading = useStore((s) => s.sftPreviewLoading);
  const error = useStore((s) => s.sftPreviewError);
  return (
    <div className="sft">
      <label className="check">
        <input type="checkbox" checked={sft !== null} onChange={(e) => setSft(e.target.checked ? {} : null)} />
        <span>Instruction tuning (loss on answers only)</span>
      </label>
      {sft && (
        <div className="row">
          <label htmlFor={id} className="hint">
            Format
          </label>
          <select id={id} value={sft.format} onChange={(e) => setSft({ format: e.target.value as typeof sft.format })}>
            <option value="auto">auto ({detected ?? '?'})</option>
            {SFT_FORMAT_CHOICES.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
          <label className="check">
            <input
              type="checkbox"
              checked={sft.trainOnPrompt}
              onChange={(e) => setSft({ trainOnPrompt: e.target.checked })}
            />
            <span>Train on the prompt too</span>
          </label>
        </div>
      )}
      {sft && loading && <p className="hint">Rendering with the chat template…</p>}
      {sft && error && (
        <p className="warning" role="alert">
          {error}
        </p>
      )}
      {sft && preview && !error && <SftPreviewView preview={preview} />}
    </div>
  );
}
