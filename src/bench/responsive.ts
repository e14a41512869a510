// The page's responsiveness in figures (`npm run bench`, section `responsive`): the longest main-thread task of the
// production page while a 20-step gpt2-tiny dynamic-rank run trains (pruning every step, so every chart, the heatmap
// and the prune log change as it trains), and while a 16 MB CSV upload is read, parsed (in the worker) and previewed.
// Each task's CPU time is what the page's own code costs; its wall time also holds the time the main thread waited
// for a core, which on a loaded machine says more about the machine than the page: the machine's load is recorded
// beside the figures. e2e/responsive.e2e.test.ts checks the same two scenarios functionally (clicks take effect).

import { cpus, loadavg } from 'node:os';
import type { Locator, Page } from 'playwright-core';
import {
  describeTask,
  longTasks,
  mark,
  observeLongTasks,
  startTrace,
  type TracedTask,
  tracedTasks,
} from './mainthread';

/** Steps of the measured run. */
export const RESPONSIVE_STEPS = 20;

/** A 16 MiB two-column CSV (200,000 rows of text and a ham/spam label). */
export function bigCsv(): { text: string; rows: number } {
  const rows = 200_000;
  const lines = ['text,label'];
  for (let i = 0; i < rows; i++) {
    const label = i % 3 ? 'ham' : 'spam';
    lines.push(`"message ${i}: the quick brown fox jumps over the lazy dog, again and again",${label}`);
  }
  return { text: `${lines.join('\n')}\n`, rows };
}

export interface TaskFigure {
  cpuMs: number;
  wallMs: number;
  task: string;
}

export interface MainThreadFigures {
  what: string;
  /** Wall time of the whole scenario. */
  seconds: number;
  tasks: number;
  /** Main-thread CPU time summed over the scenario's tasks. */
  busyCpuMs: number;
  /** The task with the most CPU time, and the one with the most wall time. */
  longestCpu: TaskFigure | null;
  longestWall: TaskFigure | null;
  /** Long tasks the page's PerformanceObserver saw (over 50 ms of wall time). */
  longTasks: number;
  /** os.loadavg() when the scenario ended. */
  load: number[];
}

export interface ResponsiveSection {
  cores: number;
  loadStart: number[];
  items: MainThreadFigures[];
  error?: string;
}

const figure = (t: TracedTask | undefined): TaskFigure | null =>
  t ? { cpuMs: t.cpuMs, wallMs: t.wallMs, task: describeTask(t) } : null;

function figures(what: string, tasks: TracedTask[], from: number, to: number, longOnes: number): MainThreadFigures {
  return {
    what,
    seconds: (to - from) / 1000,
    tasks: tasks.length,
    busyCpuMs: tasks.reduce((a, t) => a + t.cpuMs, 0),
    longestCpu: figure([...tasks].sort((a, b) => b.cpuMs - a.cpuMs)[0]),
    longestWall: figure([...tasks].sort((a, b) => b.wallMs - a.wallMs)[0]),
    longTasks: longOnes,
    load: loadavg(),
  };
}

/** Polls `ok` until it holds; `what` names the wait in the error when it never does. */
async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`responsiveness bench: gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The step the run bar shows, read with a plain selector (an accessible-name query walks the whole page). */
const shownStep = async (page: Page): Promise<number> => {
  const text = await page.evaluate(() => document.querySelector('section[aria-label="Run"]')?.textContent ?? '');
  return Number(/step (\d+) \//.exec(text)?.[1] ?? 0);
};

async function setNumber(page: Page, label: string, value: number): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(String(value));
}

/** Trains gpt2-tiny for RESPONSIVE_STEPS steps from the click on Start; the click's own task is left out. */
async function whileTraining(page: Page, url: string): Promise<MainThreadFigures> {
  await page.goto(url);
  await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
  const text = (l: Locator) => l.textContent().then((t) => t ?? '');
  const architecture = page.getByLabel('Architecture');
  await until('the gpt2-tiny summary', async () => (await text(architecture)).includes('Layers2'), 60_000);
  const preview = page.getByRole('table', { name: 'Data preview' });
  await until('the demo data', async () => (await text(preview)).includes('State of the Union'), 30_000);
  await until('the WebGPU backend', async () => (await text(page.getByLabel('Compute backend'))) === 'WebGPU', 60_000);
  await setNumber(page, 'Steps', RESPONSIVE_STEPS);
  await setNumber(page, 'Batch size', 2);
  await setNumber(page, 'Sequence length', 32);
  await setNumber(page, 'Final budget b(T)', 2);
  await page.getByText('Advanced').click();
  await setNumber(page, 'Prune interval', 1);
  const trace = await startTrace(page);
  const t0 = await mark(page, 'dynrank-training');
  await page.getByRole('button', { name: 'Start training' }).click();
  const clicked = await mark(page, 'dynrank-clicked');
  await until(`step ${RESPONSIVE_STEPS}`, async () => (await shownStep(page)) >= RESPONSIVE_STEPS, 300_000);
  const t1 = await mark(page, 'dynrank-trained');
  const tasks = tracedTasks(await trace.stop(), 'dynrank-training', t0).filter(
    (t) => t.start >= clicked && t.start < t1,
  );
  const longOnes = (await longTasks(page, clicked, t1)).length;
  const what = `training ${RESPONSIVE_STEPS} steps of gpt2-tiny (dynamic rank, pruning every step), from the click on Start`;
  return figures(what, tasks, clicked, t1, longOnes);
}

/** Uploads the 16 MiB CSV (a file path: Playwright hands the browser a native file) until its preview shows. */
async function whileUploading(page: Page, csvPath: string, mib: number, rows: number): Promise<MainThreadFigures> {
  const trace = await startTrace(page);
  const t0 = await mark(page, 'dynrank-upload');
  await page.getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)').setInputFiles(csvPath);
  const caption = `· CSV · ${rows.toLocaleString('en-US')} rows`;
  const shown = () =>
    page.evaluate((c) => (document.querySelector('.preview .caption')?.textContent ?? '').includes(c), caption);
  await until("the upload's preview", shown, 120_000);
  const t1 = await mark(page, 'dynrank-uploaded');
  const tasks = tracedTasks(await trace.stop(), 'dynrank-upload', t0).filter((t) => t.start >= t0 && t.start < t1);
  const longOnes = (await longTasks(page, t0, t1)).length;
  const what = `a ${mib.toFixed(1)} MiB CSV upload (${rows.toLocaleString('en-US')} rows) read, parsed and previewed`;
  return figures(what, tasks, t0, t1, longOnes);
}

/**
 * Both scenarios on one page of the production build at `url`; `page` must be fresh (a long-task observer is
 * installed before its first load). `csvPath` holds bigCsv()'s text.
 */
export async function measureResponsiveness(
  page: Page,
  url: string,
  csv: { path: string; mib: number; rows: number },
): Promise<ResponsiveSection> {
  const out: ResponsiveSection = { cores: cpus().length, loadStart: loadavg(), items: [] };
  try {
    await observeLongTasks(page);
    out.items.push(await whileTraining(page, url));
    out.items.push(await whileUploading(page, csv.path, csv.mib, csv.rows));
  } catch (e) {
    out.error = String((e as Error)?.stack ?? e).slice(0, 1500);
  }
  return out;
}
