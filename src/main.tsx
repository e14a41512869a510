// Composition root: renders the playground and starts its training worker (which picks WebGPU or the CPU backend).
// `?backend=cpu` forces the CPU backend; `?debug` adds test hooks. The kernel self-test result is also published on
// window for the e2e suite.

import { startTransition } from 'react';
import { createRoot } from 'react-dom/client';
import type { SelfTestResult } from './gpu/selftest';
import { useStore } from './store';
import { initApp, simulateDeviceLoss, takeGpuPath } from './store/actions';
import { App } from './ui/App';
import './ui/styles.css';

declare global {
  interface Window {
    /** Set once the start-up self-test has finished; read by the e2e suite. */
    __dynrankSelfTest?: {
      adapter: { vendor: string; architecture: string; description: string; isFallback: boolean } | undefined;
      results: SelfTestResult[];
      error?: string;
    };
    /** Test hooks, present with ?debug only. */
    __dynrankDebug?: { loseDevice(during?: 'checkpoint', times?: number): void; gpuPath(): void };
  }
}

useStore.subscribe((s, prev) => {
  if (s.selftest && s.selftest !== prev.selftest) {
    window.__dynrankSelfTest = {
      adapter: s.engine?.adapter ?? undefined,
      results: s.selftest.results,
      ...(s.selftest.error ? { error: s.selftest.error } : {}),
    };
  }
});

const params = new URLSearchParams(location.search);
if (params.has('debug')) window.__dynrankDebug = { loseDevice: simulateDeviceLoss, gpuPath: takeGpuPath };
// The first render as a transition: React renders it in slices between which the page can handle input and paint,
// instead of one long task (about 60-140 ms of CPU in the dev build on a 2-core machine).
const root = createRoot(document.getElementById('root')!);
startTransition(() => root.render(<App />));
void initApp(params.get('backend') === 'cpu' ? 'cpu' : 'auto');
