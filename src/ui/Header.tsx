// The page header: name, one line on what it does, the engine badge and its warning (no WebGPU, software adapter).

import { useStore } from '../store';

export function Header() {
  const engine = useStore((s) => s.engine);
  return (
    <header className="top">
      <div className="brand">
        <h1>dynrank</h1>
        <p>Fine-tune a small language model in your browser with dynamic-rank adapters. Nothing leaves your machine.</p>
      </div>
      <span className={`badge ${engine?.backend ?? 'pending'}`} role="status" aria-label="Compute backend">
        {engine ? (engine.backend === 'webgpu' ? 'WebGPU' : 'CPU') : 'starting…'}
      </span>
      {engine?.warning && (
        <p className="banner" role="alert">
          {engine.warning}
        </p>
      )}
    </header>
  );
}
