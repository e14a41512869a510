// A labelled number input that lets the person type freely and commits only valid values within [min, max].

import { useEffect, useId, useState } from 'react';

interface Props {
  label: string;
  value: number | null;
  onChange(v: number | null): void;
  min?: number;
  max?: number;
  step?: number;
  integer?: boolean;
  /** Shown when the value is null ("auto"): an empty field means "use the default". */
  placeholder?: string;
  hint?: string;
  disabled?: boolean;
}

export function NumberField({
  label,
  value,
  onChange,
  min = -Infinity,
  max = Infinity,
  step,
  integer,
  placeholder,
  hint,
  disabled,
}: Props) {
  const id = useId();
  const [text, setText] = useState(value === null ? '' : String(value));
  useEffect(() => {
    setText((t) => (Number(t) === value && t !== '' ? t : value === null ? '' : String(value)));
  }, [value]);
  const parsed = text.trim() === '' ? null : Number(text);
  const invalid =
    parsed === null
      ? placeholder === undefined
      : !Number.isFinite(parsed) || parsed < min || parsed > max || (integer && !Number.isInteger(parsed));
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        value={text}
        min={Number.isFinite(min) ? min : undefined}
        max={Number.isFinite(max) ? max : undefined}
        step={step ?? (integer ? 1 : 'any')}
        placeholder={placeholder}
        aria-invalid={invalid || undefined}
        disabled={disabled}
        onChange={(e) => {
          const t = e.target.value;
          setText(t);
          const v = t.trim() === '' ? null : Number(t);
          if (
            v === null
              ? placeholder !== undefined
              : Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
          )
            onChange(v);
        }}
      />
      {invalid && <span className="field-error">{rangeText(min, max, integer)}</span>}
      {!invalid && hint && <span className="hint">{hint}</span>}
    </div>
  );
}

function rangeText(min: number, max: number, integer?: boolean): string {
  const kind = integer ? 'a whole number' : 'a number';
  if (Number.isFinite(min) && Number.isFinite(max)) return `Enter ${kind} from ${min} to ${max}.`;
  if (Number.isFinite(min)) return `Enter ${kind} of at least ${min}.`;
  return `Enter ${kind}.`;
}
