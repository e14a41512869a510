// The engine: which backend and GPU adapter the worker uses, and the kernel self-test against the CPU references.

import { useStore } from '../store';

export function EnginePanel() {
  const engine = useStore((s) => s.engine);
  const selftest = useStore((s) => s.selftest);
  const failed = selftest?.results.filter((r) => !r.ok).length ?? 0;
  const a = engine?.adapter;
  return (
    <details className="card engine" open={failed > 0}>
      <summary>
        Engine · {engine ? (engine.backend === 'webgpu' ? 'WebGPU' : 'CPU backend') : 'starting…'}
        {selftest && selftest.results.length > 0 && ` · self-test ${failed ? `${failed} FAILED` : 'passed'}`}
      </summary>
      <section aria-label="GPU adapter" data-testid="adapter">
        <p>
          {a
            ? [a.vendor || 'unknown vendor', a.architecture, a.description].filter(Boolean).join(' · ') +
              (a.isFallback ? ' (software adapter)' : '')
            : engine
              ? 'No WebGPU adapter.'
              : 'Looking for a WebGPU adapter…'}
        </p>
      </section>
      <section aria-label="Kernel self-test">
        <table data-testid="selftest" className="selftest">
          <thead>
            <tr>
              <th align="left">op</th>
              <th align="right">max |GPU − CPU|</th>
              <th align="right">ms</th>
              <th>result</th>
            </tr>
          </thead>
          <tbody>
            {(selftest?.results ?? []).map((r) => (
              <tr key={r.op}>
                <td>{r.op}</td>
                <td align="right" className="mono">
                  {r.maxAbsErr.toExponential(2)}
                </td>
                <td align="right" className="mono">
                  {r.ms.toFixed(0)}
                </td>
                <td align="center" className={r.ok ? 'ok' : 'bad'}>
                  {r.ok ? 'pass' : 'FAIL'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {selftest && !selftest.results.length && (
          <p className="hint">{selftest.error ? 'Not run: no WebGPU.' : 'Running…'}</p>
        )}
      </section>
    </details>
  );
}
