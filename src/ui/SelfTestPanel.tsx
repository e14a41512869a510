// The engine status panel: which GPU adapter is in use and whether every kernel matches its CPU reference.

import type { SelfTestResult } from '../gpu/selftest';

export interface EngineStatus {
  phase: 'starting' | 'testing' | 'done' | 'error';
  adapter?: { vendor: string; architecture: string; description: string; isFallback: boolean };
  results?: SelfTestResult[];
  error?: string;
}

export function SelfTestPanel({ status }: { status: EngineStatus }) {
  const { adapter, results, error, phase } = status;
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 760, margin: '2rem auto', padding: '0 1rem', color: '#1f2933' }}>
      <h1 style={{ fontWeight: 600 }}>dynrank</h1>
      <p>Fine-tune small language models in your browser, on your GPU, with dynamic-rank adaptation.</p>
      <section aria-label="GPU adapter" data-testid="adapter">
        <h2 style={{ fontSize: '1.1rem' }}>GPU</h2>
        {adapter ? (
          <p>
            {adapter.vendor || 'unknown vendor'} · {adapter.architecture || 'unknown architecture'}
            {adapter.description ? ` · ${adapter.description}` : ''}
            {adapter.isFallback ? ' (software fallback: correct but slow)' : ''}
          </p>
        ) : (
          <p>{phase === 'error' ? 'No WebGPU adapter.' : 'Looking for a WebGPU adapter…'}</p>
        )}
      </section>
      {error && <p role="alert" style={{ color: '#b42318' }}>{error}</p>}
      <section aria-label="Kernel self-test">
        <h2 style={{ fontSize: '1.1rem' }}>Kernel self-test {phase === 'testing' && '(running…)'}</h2>
        <table data-testid="selftest" style={{ borderCollapse: 'collapse', width: '100%' }}>
          <thead>
            <tr><th align="left">op</th><th align="right">max |GPU − CPU|</th><th align="right">ms</th><th>result</th></tr>
          </thead>
          <tbody>
            {(results ?? []).map((r) => (
              <tr key={r.op}>
                <td>{r.op}</td>
                <td align="right">{r.maxAbsErr.toExponential(2)}</td>
                <td align="right">{r.ms.toFixed(0)}</td>
                <td align="center" style={{ color: r.ok ? '#067647' : '#b42318' }}>{r.ok ? 'pass' : 'FAIL'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
