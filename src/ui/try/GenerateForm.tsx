// GPT-2 generation from a prompt with the base and the adapted model side by side (same seed, same settings).

import { memo, useId, useState } from 'react';
import { useStore } from '../../store';
import { generateText } from '../../store/actions';
import { NumberField } from '../NumberField';
import { OnnxAgreement } from './OnnxAgreement';

/** Memoised: the try panel re-renders with every phase change, the form only when it is enabled or disabled. */
export const GenerateForm = memo(function GenerateForm({ disabled }: { disabled: boolean }) {
  const id = useId();
  const [prompt, setPrompt] = useState('My fellow Americans,');
  const [opts, setOpts] = useState({ maxTokens: 24, temperature: 0.8, topK: 40, seed: 1 });
  const busy = useStore((s) => s.tryBusy);
  const result = useStore((s) => s.generation);
  const set = (k: keyof typeof opts) => (v: number | null) => v !== null && setOpts({ ...opts, [k]: v });
  return (
    <form
      className="try-form"
      onSubmit={(e) => {
        e.preventDefault();
        generateText(prompt, opts);
      }}
    >
      <div className="field">
        <label htmlFor={id}>Prompt</label>
        <textarea id={id} rows={2} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </div>
      <div className="grid4">
        <NumberField
          label="Length (tokens)"
          value={opts.maxTokens}
          integer
          min={1}
          max={256}
          onChange={set('maxTokens')}
        />
        <NumberField
          label="Temperature"
          value={opts.temperature}
          min={0}
          max={2}
          step={0.1}
          hint="0 = greedy"
          onChange={set('temperature')}
        />
        <NumberField
          label="Top-k"
          value={opts.topK}
          integer
          min={0}
          max={1000}
          hint="0 = all tokens"
          onChange={set('topK')}
        />
        <NumberField label="Sampling seed" value={opts.seed} integer min={0} max={2 ** 31 - 1} onChange={set('seed')} />
      </div>
      <button type="submit" className="primary" disabled={disabled || busy}>
        {busy ? 'Generating…' : 'Generate'}
      </button>
      {result && (
        <div className="compare" aria-live="polite">
          <Output title="Base model" prompt={result.prompt} text={result.base} />
          <Output title="Adapted model" prompt={result.prompt} text={result.adapted} />
          {result.onnx && (
            <>
              <Output title="ONNX (onnxruntime-web), greedy" prompt={result.prompt} text={result.onnx.text} />
              <OnnxAgreement agrees={result.onnx.agrees} ours={result.onnx.ours} verb="continues" />
            </>
          )}
        </div>
      )}
    </form>
  );
});

function Output({ title, prompt, text }: { title: string; prompt: string; text: string }) {
  return (
    <div className="output" aria-label={title} role="region">
      <h3>{title}</h3>
      <p>
        <span className="prompt">{prompt}</span>
        {text || <em className="hint"> (stopped at once: end of text)</em>}
      </p>
    </div>
  );
}
