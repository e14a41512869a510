// Data: the bundled demo that matches the model, or an uploaded CSV/TSV/JSONL/TXT file, with its preview.

import { useMemo } from 'react';
import { useStore } from '../../store';
import { chooseDemo, uploadData } from '../../store/actions';
import { dataProblem, demoOptions, sftOffered } from '../../store/derived';
import { ErrorNotes } from '../ErrorNotes';
import { DataPreviewTable } from './DataPreviewTable';
import { SftOptions } from './SftOptions';

export function DataSection() {
  const origin = useStore((s) => s.dataOrigin);
  const preview = useStore((s) => s.preview);
  const summary = useStore((s) => s.summary);
  const task = summary?.task;
  const demoChoice = useStore((s) => s.demoChoice);
  const demos = useMemo(() => demoOptions({ summary, dataOrigin: origin, demoChoice }), [summary, origin, demoChoice]);
  const loading = useStore((s) => s.dataLoading);
  const problem = dataProblem(preview, task);
  const offered = sftOffered(preview, task);
  const sftOn = useStore((s) => !!s.settings.sft);
  const sftPreview = useStore((s) => s.sftPreview);
  const sftSkipped = useMemo(
    () => (offered && sftOn && sftPreview ? { count: sftPreview.counts.badRows, first: sftPreview.badRows } : null),
    [offered, sftOn, sftPreview],
  );
  return (
    <fieldset className="group">
      <legend>Data</legend>
      <div className="row" role="group" aria-label="Data source">
        {demos.map((d) => (
          <button
            key={d.file}
            type="button"
            className={d.chosen ? 'chip on' : 'chip'}
            title={d.label}
            aria-pressed={d.chosen}
            onClick={() => void chooseDemo(d.file)}
          >
            Demo: {d.file}
          </button>
        ))}
        {demos.length === 0 && (
          <button type="button" className="chip" disabled aria-pressed={false}>
            Demo: …
          </button>
        )}
        <label className={`chip file ${origin === 'upload' ? 'on' : ''}`}>
          Upload a file…
          <input
            type="file"
            className="visually-hidden"
            aria-label="Upload a data file (CSV, TSV, JSONL or TXT)"
            accept=".csv,.tsv,.jsonl,.ndjson,.json,.txt,text/plain,text/csv"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void uploadData(f);
              e.target.value = '';
            }}
          />
        </label>
      </div>
      <p className="hint">
        {task !== 'seq-cls'
          ? 'Plain text, a table with a text column, or instruction data (JSON Lines with "messages", ' +
            'prompt and completion, or instruction, input and output; or a CSV with such columns).'
          : 'A table with a text column and a label column (CSV, TSV or JSON Lines).'}
      </p>
      <ErrorNotes areas={['data']} />
      {loading && <p className="hint">Reading…</p>}
      {problem && (
        <p className="warning" role="alert">
          {problem}
        </p>
      )}
      {preview && <DataPreviewTable preview={preview} classifier={task === 'seq-cls'} skipped={sftSkipped} />}
      {offered && <SftOptions />}
    </fieldset>
  );
}
