// The errors of one area of the page, each with its own dismiss button; role="alert" so they are announced.

import { type ErrorArea, useShallow, useStore } from '../store';

export function ErrorNotes({ areas }: { areas: ErrorArea[] }) {
  const errors = useStore(useShallow((s) => s.errors.filter((e) => areas.includes(e.area))));
  const dismiss = useStore((s) => s.dismissError);
  if (!errors.length) return null;
  return (
    <div className="errors">
      {errors.map((e) => (
        <div key={e.id} className="error" role="alert" data-code={e.code}>
          <p>{e.message}</p>
          <button type="button" className="link" aria-label="Dismiss this message" onClick={() => dismiss(e.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
