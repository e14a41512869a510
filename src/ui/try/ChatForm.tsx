// An instruction-tuned run: one user message through the model's chat template, answered greedily by the base model
// and by the adapted model side by side, and by the ONNX export of the adapter as it is now when there is one.

import { memo, useId, useState } from 'react';
import { useStore } from '../../store';
import { chatWith } from '../../store/actions';
import { NumberField } from '../NumberField';
import { OnnxAgreement } from './OnnxAgreement';

/** Memoised: the try panel re-renders with every phase change, the form only when it is enabled or disabled. */
export const ChatForm = memo(function ChatForm({ disabled }: { disabled: boolean }) {
  const id = useId();
  const [message, setMessage] = useState('What is the capital of France?');
  const [maxTokens, setMaxTokens] = useState(32);
  const busy = useStore((s) => s.tryBusy);
  const result = useStore((s) => s.chat);
  return (
    <form
      className="try-form"
      onSubmit={(e) => {
        e.preventDefault();
        chatWith(message, maxTokens);
      }}
    >
      <div className="field">
        <label htmlFor={id}>Your message</label>
        <textarea id={id} rows={2} value={message} onChange={(e) => setMessage(e.target.value)} />
      </div>
      <div className="grid4">
        <NumberField
          label="Answer length (tokens)"
          value={maxTokens}
          integer
          min={1}
          max={256}
          hint="Greedy, until the end of the turn"
          onChange={(v) => v !== null && setMaxTokens(v)}
        />
      </div>
      <button type="submit" className="primary" disabled={disabled || busy || message.trim() === ''}>
        {busy ? 'Answering…' : 'Send'}
      </button>
      {result && (
        <div className="compare" aria-live="polite">
          <p className="chat-user">
            <span className="hint">You:</span> {result.message}
          </p>
          <Answer title="Base model answer" text={result.base} />
          <Answer title="Adapted model answer" text={result.adapted} />
          {result.onnx && (
            <>
              <Answer title="ONNX (onnxruntime-web) answer" text={result.onnx.text} />
              <OnnxAgreement agrees={result.onnx.agrees} ours={result.onnx.ours} verb="answers" />
            </>
          )}
        </div>
      )}
    </form>
  );
});

function Answer({ title, text }: { title: string; text: string }) {
  return (
    <div className="output" aria-label={title} role="region">
      <h3>{title}</h3>
      <p data-testid="answer">{text || <em className="hint">(no answer: the turn ended at once)</em>}</p>
    </div>
  );
}
