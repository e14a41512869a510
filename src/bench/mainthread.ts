// Main-thread accounting for the responsiveness bench (src/bench/responsive.ts): long tasks as the page sees them
// (PerformanceObserver), and the page's main-thread tasks in a Chrome trace, where each has its wall time and the CPU
// time the thread actually got, with the work inside it (script by source, style/layout/paint, GC, module evaluation)
// in CPU time. On a 2-core machine the training worker and the GPU process (SwiftShader) deschedule the main thread:
// a task can last 100 ms on the wall clock with 5 ms of CPU. The CPU time is what the page's own code costs.

import type { CDPSession, Page } from 'playwright-core';

export interface LongTask {
  start: number;
  duration: number;
}

declare global {
  interface Window {
    __longTasks?: LongTask[];
  }
}

/** Installs a long-task observer before any page script runs. */
export async function observeLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const log: { start: number; duration: number }[] = (window.__longTasks = []);
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) log.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** The page's long tasks that started in [t0, t1) (page clock, ms). */
export async function longTasks(page: Page, t0: number, t1: number): Promise<LongTask[]> {
  // Observers are called from a queued task: let the ones already due run first.
  const all = await page.evaluate(
    () => new Promise<LongTask[]>((r) => requestIdleCallback(() => r(window.__longTasks ?? []), { timeout: 1000 })),
  );
  return all.filter((t) => t.start >= t0 && t.start < t1);
}

/** A performance.mark on the page; returns its time on the page clock. */
export const mark = (page: Page, name: string): Promise<number> =>
  page.evaluate((n) => performance.mark(n).startTime, name);

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: Record<string, unknown>;
}

/** A main-thread task from the trace. */
export interface TracedTask {
  /** Start on the page clock (ms). */
  start: number;
  wallMs: number;
  cpuMs: number;
  /** CPU ms by kind of work inside the task: `script <url> <function>`, `layout`, `style`, `paint`, `gc`, ... */
  work: Record<string, number>;
}

const TASK = new Set(['RunTask', 'ThreadControllerImpl::RunTask']);
const SCRIPT = new Set([
  'FunctionCall',
  'EvaluateScript',
  'TimerFire',
  'FireAnimationFrame',
  'EventDispatch',
  'v8.evaluateModule',
  'HandlePostMessage',
]);
const KIND: Record<string, string> = {
  Layout: 'layout',
  UpdateLayoutTree: 'style',
  Paint: 'paint',
  PrePaint: 'paint',
  Layerize: 'paint',
  HitTest: 'layout',
  MinorGC: 'gc',
  MajorGC: 'gc',
  ParseHTML: 'parse',
  'v8.compile': 'compile',
  'v8.compileModule': 'compile',
};

export interface Trace {
  cdp: CDPSession;
  stop(): Promise<TraceEvent[]>;
}

/** Starts a trace of the renderer's tasks and the work inside them. */
export async function startTrace(page: Page): Promise<Trace> {
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (d) => events.push(...(d.value as unknown as TraceEvent[])));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      recordMode: 'recordContinuously',
      includedCategories: ['toplevel', 'devtools.timeline', 'v8', 'blink.user_timing', '__metadata'],
    },
  });
  return {
    cdp,
    async stop() {
      const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
      await cdp.send('Tracing.end');
      await done;
      return events;
    },
  };
}

/**
 * The page's main-thread tasks from a trace, on the page clock: `syncMark` is a performance.mark made while
 * tracing, at `syncAt` on the page clock; it also says which process and thread are the page's.
 */
export function tracedTasks(events: TraceEvent[], syncMark: string, syncAt: number): TracedTask[] {
  const m = events.find((e) => e.name === syncMark && e.cat.includes('blink.user_timing'));
  if (!m) throw new Error(`the trace has no "${syncMark}" mark: was the page traced while it was made?`);
  const own = events.filter((e) => e.pid === m.pid && e.tid === m.tid && e.ph === 'X').sort((a, b) => a.ts - b.ts);
  const tasks: TracedTask[] = [];
  let i = 0;
  for (const t of own) {
    if (!TASK.has(t.name)) continue;
    const end = t.ts + (t.dur ?? 0);
    while (i < own.length && own[i].ts < t.ts) i++;
    const work: Record<string, number> = {};
    // Outermost work items only: nested ones are inside their parent's time.
    let coveredUntil = t.ts;
    for (let j = i; j < own.length && own[j].ts < end; j++) {
      const e = own[j];
      if (e === t || TASK.has(e.name) || e.ts < coveredUntil) continue;
      const kind = SCRIPT.has(e.name) ? `script ${scriptName(e)}` : KIND[e.name];
      if (!kind) continue;
      work[kind] = (work[kind] ?? 0) + (e.tdur ?? e.dur ?? 0) / 1000;
      coveredUntil = e.ts + (e.dur ?? 0);
    }
    tasks.push({
      start: syncAt + (t.ts - m.ts) / 1000,
      wallMs: (t.dur ?? 0) / 1000,
      cpuMs: (t.tdur ?? t.dur ?? 0) / 1000,
      work,
    });
  }
  return tasks;
}

function scriptName(e: TraceEvent): string {
  const d = (e.args?.data ?? {}) as { url?: string; functionName?: string; type?: string; timerId?: number };
  const url = (d.url ?? '').replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '');
  return [e.name === 'FunctionCall' ? '' : e.name, url, d.functionName || d.type].filter(Boolean).join(' ');
}

/** "42 ms (cpu 7: script /src/x.ts f 5, paint 2)" */
export function describeTask(t: TracedTask): string {
  const parts = Object.entries(t.work)
    .filter(([, v]) => v >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`);
  return `@${t.start.toFixed(0)} wall ${t.wallMs.toFixed(0)} ms, cpu ${t.cpuMs.toFixed(0)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
