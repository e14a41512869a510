// Other model sources: a Hugging Face hub id (with the hub's base URL), a URL of a folder, or dropped/picked files.
// Downloads show their progress; errors appear under the model field (area 'model').

import { useId, useState } from 'react';
import { useStore } from '../../store';
import { addModel, addModelFiles, setHubBase } from '../../store/actions';
import { compact } from '../format';

type Kind = 'hub' | 'url' | 'files';
const KIND_TEXT: Record<Kind, string> = { hub: 'Hugging Face', url: 'URL', files: 'Files' };

export function ModelSource() {
  const id = useId();
  const [kind, setKind] = useState<Kind | null>(null);
  const [hubId, setHubId] = useState('');
  const [url, setUrl] = useState('');
  const [over, setOver] = useState(false);
  const hubBase = useStore((s) => s.hubBase);
  const loading = useStore((s) => s.modelLoading);
  const progress = useStore((s) => s.modelProgress);
  const disabled = loading;
  return (
    <div className="model-source">
      <div className="row" role="group" aria-label="Other model sources">
        <span className="hint">Or load from:</span>
        {(['hub', 'url', 'files'] as const).map((k) => (
          <button
            key={k}
            type="button"
            className={kind === k ? 'chip on' : 'chip'}
            aria-pressed={kind === k}
            onClick={() => setKind(kind === k ? null : k)}
          >
            {KIND_TEXT[k]}
          </button>
        ))}
      </div>
      {kind === 'hub' && (
        <form
          className="grid2"
          onSubmit={(e) => {
            e.preventDefault();
            if (hubId.trim()) addModel({ kind: 'hub', id: hubId.trim(), hubBase: hubBase.trim() });
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-hub`}>Hugging Face model id</label>
            <input
              id={`${id}-hub`}
              value={hubId}
              placeholder="owner/name"
              disabled={disabled}
              onChange={(e) => setHubId(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-base`}>Hub base URL</label>
            <input id={`${id}-base`} value={hubBase} disabled={disabled} onChange={(e) => setHubBase(e.target.value)} />
          </div>
          <button type="submit" disabled={disabled || !hubId.trim()}>
            Load from the hub
          </button>
        </form>
      )}
      {kind === 'url' && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (url.trim()) addModel({ kind: 'url', url: new URL(url.trim(), location.href).href });
          }}
        >
          <div className="field grow">
            <label htmlFor={`${id}-url`}>Model folder URL</label>
            <input
              id={`${id}-url`}
              value={url}
              placeholder="https://…/my-model/"
              disabled={disabled}
              onChange={(e) => setUrl(e.target.value)}
            />
          </div>
          <button type="submit" disabled={disabled || !url.trim()}>
            Load from the URL
          </button>
        </form>
      )}
      {kind === 'files' && (
        <div
          className={over ? 'dropzone over' : 'dropzone'}
          role="region"
          aria-label="Drop model files here"
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            if (!disabled && !runBusy()) void dropped(e.dataTransfer);
          }}
        >
          <p className="hint">
            Drop a model folder or its files (config.json, tokenizer.json, model.safetensors), or pick them:
          </p>
          <div className="row">
            <label className="chip file" aria-disabled={disabled || undefined}>
              Pick files…
              <input
                type="file"
                multiple
                className="visually-hidden"
                aria-label="Pick model files"
                disabled={disabled}
                onChange={(e) => {
                  void addModelFiles([...(e.target.files ?? [])]);
                  e.target.value = '';
                }}
              />
            </label>
            <label className="chip file" aria-disabled={disabled || undefined}>
              Pick a folder…
              <input
                type="file"
                className="visually-hidden"
                aria-label="Pick a model folder"
                disabled={disabled}
                {...{ webkitdirectory: '' }}
                onChange={(e) => {
                  void addModelFiles([...(e.target.files ?? [])]);
                  e.target.value = '';
                }}
              />
            </label>
          </div>
        </div>
      )}
      {loading && progress && (
        <p className="hint" role="status" aria-label="Model download">
          Downloading {progress.file}: {compact(progress.loaded)}B
          {progress.total ? ` of ${compact(progress.total)}B` : ''}
        </p>
      )}
    </div>
  );
}

/** Whether a run is being prepared or trained: the set-up fieldset is disabled then, but a drop zone is no control. */
function runBusy(): boolean {
  const { phase } = useStore.getState();
  return phase === 'training' || phase === 'preparing';
}

/** Files from a drop: plain files, or the entries of dropped folders (one level of nesting is enough for a model). */
async function dropped(dt: DataTransfer): Promise<void> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  const files: File[] = [];
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const f = await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej));
      files.push(new File([f], `${prefix}${f.name}`));
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      const kids = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      for (const k of kids) await walk(k, `${prefix}${e.name}/`);
    }
  };
  if (entries.length) for (const e of entries) await walk(e, '');
  else files.push(...dt.files);
  await addModelFiles(files);
}
