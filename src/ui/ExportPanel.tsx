// Export: the PEFT adapter zip, the merged model, the merged model as an ONNX folder for transformers.js (zip), and
// the heatmap as SVG.

import { useStore } from '../store';
import { exportOnnx, exportRun } from '../store/actions';
import { download } from './download';
import { ErrorNotes } from './ErrorNotes';
import { compact, int } from './format';
import { heatmapSvg } from './rank/heatmapSvg';
import { rankViewNow } from './rank/useRankGrid';

export function ExportPanel() {
  const run = useStore((s) => s.run);
  const phase = useStore((s) => s.phase);
  const exported = useStore((s) => s.exported);
  const busy = useStore((s) => s.exportBusy);
  const onnx = useStore((s) => s.onnxExport);
  // Whether there is a heatmap to export; the grid itself is read on click, so a training step does not redraw this.
  const hasGrid = useStore((s) => s.modules.length > 0 && s.snapshots.length > 0);
  const ready = run !== null && (phase === 'paused' || phase === 'stopped' || phase === 'done');
  const stem = run
    ? `${run.modelId.replace(/[^\w.-]+/g, '-')}-${run.method === 'dora' ? 'dynrank' : 'lora'}`
    : 'adapter';
  return (
    <section className="card export" aria-label="Export">
      <div className="card-head">
        <h2>Export</h2>
        {!ready && <span className="hint">Available when training is paused, stopped or done.</span>}
      </div>
      <div className="row">
        <button type="button" className="primary" disabled={!ready || busy} onClick={exportRun}>
          {busy ? 'Preparing…' : 'Prepare downloads'}
        </button>
        <button type="button" disabled={!ready || busy} onClick={exportOnnx}>
          ONNX for transformers.js
        </button>
        {hasGrid && (
          <button
            type="button"
            onClick={() => {
              const view = rankViewNow();
              if (view)
                download(
                  `${stem}-rank-map-step${view.shownStep}.svg`,
                  heatmapSvg(view.grid, view.R0, `${stem}: live components at step ${view.shownStep}`),
                  'image/svg+xml',
                );
            }}
          >
            Heatmap (SVG)
          </button>
        )}
      </div>
      {exported && (
        <div className="downloads">
          <p className="hint">
            Adapter after step {int(exported.step)}: {int(exported.rankMap.total)} components in{' '}
            {exported.rankMap.moduleTypes.length} module types, {compact(exported.rankMap.retainedParams)} parameters.
            Load it with PEFT (<span className="mono">PeftModel.from_pretrained</span>); rank_pattern holds each
            module&apos;s rank.
          </p>
          {exported.rankMap.provisional && (
            <p className="hint" role="note">
              Provisional: exported before the final pruning event, so it holds the components live now and the budget
              b(T) is not reached yet (rank_map.json has &quot;provisional&quot;: true). Export again after training.
            </p>
          )}
          <div className="row">
            <button type="button" onClick={() => download(`${stem}.zip`, exported.zip, 'application/zip')}>
              Adapter (.zip)
            </button>
            <button
              type="button"
              onClick={() => download(`${stem}-merged.safetensors`, exported.merged, 'application/octet-stream')}
            >
              Merged model.safetensors
            </button>
          </div>
        </div>
      )}
      {onnx && (
        <div className="downloads" role="region" aria-label="ONNX export">
          <p className="hint">
            The merged model after step {int(onnx.step)} as a transformers.js folder ({onnx.files.join(', ')}); load it
            with{' '}
            <span className="mono">
              {run?.task === 'seq-cls' ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM'}.from_pretrained
            </span>{' '}
            or a pipeline. Try it runs it in onnxruntime-web beside this engine until training continues.
          </p>
          <div className="row">
            <button type="button" onClick={() => download(`${stem}-onnx.zip`, onnx.zip, 'application/zip')}>
              ONNX folder (.zip)
            </button>
          </div>
        </div>
      )}
      <ErrorNotes areas={['export']} />
    </section>
  );
}
