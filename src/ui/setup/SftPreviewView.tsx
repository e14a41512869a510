// The instruction file as training sees it: the first examples rendered with the model's chat template, the tokens
// trained on (labels != -100) highlighted, and the counts of the data report.

import { memo } from 'react';
import type { SftPreview } from '../../store/dataSlice';
import { int } from '../format';

const plural = (n: number, one: string, many = `${one}s`) => `${int(n)} ${n === 1 ? one : many}`;

/** Memoised: it re-renders only with a new preview from the worker. */
export const SftPreviewView = memo(function SftPreviewView({ preview }: { preview: SftPreview }) {
  const p = preview,
    c = p.counts;
  const fallback = p.template.origin === 'fallback';
  const template = fallback ? 'the fallback template' : p.template.origin;
  return (
    <div className="sft-preview" aria-label="Instruction preview" role="region">
      <p className="caption">
        Read as <strong>{p.format}</strong>, rendered with {template}: {plural(c.examples, 'example')},{' '}
        {int(c.trainableTokens)} of {int(c.tokens)} tokens trained on
        {c.truncated > 0 && `, ${plural(c.truncated, 'example')} cut to ${int(p.maxLength)} tokens`}
        {c.splitConversations > 0 && `, ${plural(c.splitConversations, 'conversation')} trained turn by turn`}.
      </p>
      {fallback && <FallbackNote eos={p.template.eos} />}
      <p className="hint">
        Highlighted: the tokens the loss is on{p.trainOnPrompt ? ' (every token: the prompt is trained on too)' : ''}.
      </p>
      {p.examples.map((e, i) => (
        <figure key={i} className="rendered" aria-label={`Rendered example ${i + 1}`}>
          <figcaption className="hint">
            line {e.line} · {plural(e.tokens, 'token')}, {int(e.trainedTokens)} trained
            {e.truncated && ` · cut to ${int(p.maxLength)}`}
          </figcaption>
          <pre>
            {e.spans.map((s, j) =>
              s.trained ? (
                <mark key={j} className="trained">
                  {s.text}
                </mark>
              ) : (
                <span key={j}>{s.text}</span>
              ),
            )}
          </pre>
        </figure>
      ))}
    </div>
  );
});

const FALLBACK = 'template: fallback (### User / ### Assistant)';

/**
 * What the fallback template writes, for a model without a chat template: each answer ends with the tokenizer's eos,
 * where Try it's chat stops; a tokenizer without an eos leaves answers without an end, which the note says how to fix.
 */
function FallbackNote({ eos }: { eos: string | null }) {
  return eos !== null ? (
    <p className="hint" role="note" aria-label="Chat template">
      {FALLBACK}: the model has no chat template, so each turn is a "### User:" or "### Assistant:" block and each
      answer ends with <span className="mono">{eos}</span>, where the chat in Try it stops.
    </p>
  ) : (
    <p className="warning" role="note" aria-label="Chat template">
      {FALLBACK}, but the tokenizer names no end-of-sequence token: answers end with nothing the model can learn to stop
      at, so chat answers run to their length limit. Set "eos_token" in tokenizer_config.json (or "eos_token_id" in
      config.json) and load the model again.
    </p>
  );
}
