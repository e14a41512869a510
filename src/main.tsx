// Composition root: acquires the WebGPU device, runs the kernel self-test, renders the app.

import { createRoot } from 'react-dom/client';
import { GpuBackend } from './gpu/backend';
import { GpuContext } from './gpu/context';
import { acquireDevice, browserGpu } from './gpu/device';
import { runSelfTest, type SelfTestResult } from './gpu/selftest';
import { SelfTestPanel, type EngineStatus } from './ui/SelfTestPanel';

declare global {
  interface Window {
    /** Set once the start-up self-test has finished; read by the e2e suite. */
    __dynrankSelfTest?: { adapter: EngineStatus['adapter']; results: SelfTestResult[]; error?: string };
  }
}

const root = createRoot(document.getElementById('root')!);
const render = (s: EngineStatus) => root.render(<SelfTestPanel status={s} />);

async function start(): Promise<void> {
  render({ phase: 'starting' });
  try {
    const ctx = new GpuContext(await acquireDevice(browserGpu()));
    const adapter = ctx.info;
    render({ phase: 'testing', adapter });
    const results = await runSelfTest(new GpuBackend(ctx));
    window.__dynrankSelfTest = { adapter, results };
    render({ phase: 'done', adapter, results });
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    window.__dynrankSelfTest = { adapter: undefined, results: [], error };
    render({ phase: 'error', error });
  }
}

void start();
