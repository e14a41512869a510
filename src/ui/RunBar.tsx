// Start, pause, resume and stop; progress, throughput, and the latest loss and evaluation.

import { useMemo } from 'react';
import { type EvalResult, useShallow, useStore } from '../store';
import {
  evaluateNow,
  pauseTraining,
  resumeTraining,
  startBlocker,
  startTraining,
  stopTraining,
} from '../store/actions';
import { describeOptions, memoryPlanOf } from '../store/derived';
import { ErrorNotes } from './ErrorNotes';
import { int, pct } from './format';

const PHASE_TEXT = {
  idle: 'Ready',
  preparing: 'Preparing…',
  training: 'Training',
  paused: 'Paused',
  stopped: 'Stopped',
  done: 'Done',
} as const;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The memory plan Start applies, in words: its options and estimate, or what fits when nothing does. */
function PlanLine() {
  const summary = useStore((s) => s.summary);
  const settings = useStore((s) => s.settings);
  const labels = useStore((s) => s.preview?.labels?.length ?? 2);
  const planned = useMemo(() => {
    try {
      return summary ? memoryPlanOf(summary, settings, labels) : null;
    } catch {
      // Settings of the previous model while the new one's arrive: nothing to plan yet.
      return null;
    }
  }, [summary, settings, labels]);
  if (!planned) return null;
  if ('error' in planned) {
    return (
      <p className="hint" data-testid="memory-plan">
        Memory plan: {planned.error}
      </p>
    );
  }
  const { options: o, estimate: e, budgetBytes } = planned.plan;
  return (
    <p
      className="hint mono"
      data-testid="memory-plan"
      title="The memory plan Start applies: the fastest options whose estimate fits the budget"
    >
      Memory plan: {describeOptions(o)} · est. {mib(e.total)} (weights {mib(e.weights)}, activations{' '}
      {mib(e.activations)}, adapters and optimizer {mib(e.adapterAndOptimizer)}) of {mib(budgetBytes)}
    </p>
  );
}

export function RunBar() {
  const phase = useStore((s) => s.phase);
  const step = useStore((s) => s.step);
  const steps = useStore((s) => s.steps);
  const last = useStore((s) => s.points.at(-1));
  const recent = useStore(useShallow((s) => s.points.slice(-10).map((p) => p.tokensPerSecond)));
  const tps = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
  const evalResult = useStore((s) => s.evals.at(-1));
  const dataSummary = useStore((s) => s.dataSummary);
  const resumedFrom = useStore((s) => s.resumedFrom);
  const memory = useStore((s) => s.memory);
  const tuning = useStore((s) => s.tuning);
  const blocker = useStore(startBlocker);
  const running = phase === 'training' || phase === 'preparing';
  return (
    <section className="card runbar" aria-label="Run">
      <div className="run-controls">
        {!running && (
          <button
            type="button"
            className="primary"
            disabled={blocker !== null}
            title={blocker ?? undefined}
            onClick={startTraining}
          >
            {phase === 'idle' ? 'Start training' : 'Train again'}
          </button>
        )}
        {phase === 'training' && (
          <button type="button" onClick={pauseTraining}>
            Pause
          </button>
        )}
        {phase === 'paused' && (
          <button type="button" className="primary" onClick={resumeTraining}>
            Resume
          </button>
        )}
        {(phase === 'training' || phase === 'paused') && (
          <button type="button" onClick={stopTraining}>
            Stop
          </button>
        )}
        {(phase === 'paused' || phase === 'stopped') && (
          <button type="button" onClick={evaluateNow}>
            Evaluate
          </button>
        )}
        <span className={`status status-${phase}`} role="status" aria-label="Training status">
          {PHASE_TEXT[phase]}
        </span>
        {steps > 0 && (
          <span className="mono">
            step {int(step)} / {int(steps)}
          </span>
        )}
        {last && <span className="mono">loss {last.loss.toFixed(3)}</span>}
        {last && (
          <span className="mono" title="Tokens per second, mean of the latest 10 steps">
            {int(tps)} tok/s
          </span>
        )}
        {memory && (
          <span
            className="mono"
            data-testid="gpu-memory"
            title="GPU memory the engine holds, the most it has held, and the analytic estimate for this run"
          >
            {memory.gpuBytes === null ? 'CPU backend' : `GPU ${mib(memory.gpuBytes)}`}
            {memory.peakBytes != null && ` · peak ${mib(memory.peakBytes)}`} · est. {mib(memory.estimateBytes)}
          </span>
        )}
        {tuning && (
          <span className="mono" data-testid="kernel-tuning" title={tuning.text}>
            kernels tuned ({tuning.summary.changed}/{tuning.summary.timed} changed)
          </span>
        )}
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label="Training progress"
        aria-valuemin={0}
        aria-valuemax={steps || 1}
        aria-valuenow={step}
      >
        <div style={{ transform: `scaleX(${steps ? Math.min(1, step / steps) : 0})` }} />
      </div>
      {blocker && !running && phase === 'idle' && <p className="hint">{blocker}</p>}
      {!running && <PlanLine />}
      {dataSummary && <p className="hint">{dataSummary}</p>}
      {resumedFrom !== null && (
        <p className="hint" data-testid="resumed-from">
          Resumed from the checkpoint at step {int(resumedFrom)}.
        </p>
      )}
      {evalResult && (
        <p className="eval" data-testid="eval">
          Validation after step {evalResult.step}: {describeEval(evalResult)}
        </p>
      )}
      <ErrorNotes areas={['training', 'engine']} />
    </section>
  );
}

export function describeEval(e: EvalResult): string {
  if (e.examples === 0) return 'no validation data (the split is empty).';
  const parts = [`loss ${e.loss.toFixed(3)}`];
  if (e.perplexity !== undefined) parts.push(`perplexity ${e.perplexity.toFixed(1)}`);
  if (e.accuracy !== undefined)
    parts.push(`accuracy ${pct(e.accuracy)}`, `F1 ${e.f1!.toFixed(3)}`, `MCC ${e.mcc!.toFixed(3)}`);
  const unit = e.answerTokensOnly ? 'answer tokens' : e.perplexity !== undefined ? 'tokens' : 'examples';
  return `${parts.join(' · ')} (${int(e.examples)} ${unit}).`;
}
