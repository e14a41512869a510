// Module-level actions: what the page's controls do. They update the store and send commands to the worker;
// components call them directly, and nothing here imports React.

import type { ModelRef, RunSettings, SftSettings } from '../worker/protocol';
import { bundledText } from '../worker/runData';
import { connect, send } from './client';
import { requestPreview } from './dataPreview';
import { DEMO_SETS } from './dataSlice';
import { dataProblem, sftActive } from './derived';
import { addError, applyEvent, clearErrors } from './events';
import { type AppState, useStore } from './index';
import { BUNDLED_MODELS } from './modelSlice';
import { CompareError, loraComparison, runName } from './runs';
import { type Launch, syncedRuns } from './runsSlice';
import { watchSftPreview } from './sftPreview';
import { EMPTY_RUN } from './trainingSlice';

const BASE = import.meta.env.BASE_URL;

/** Connects the worker, finds the bundled models that are present and loads the first with its demo data. */
export async function initApp(backend: 'auto' | 'cpu'): Promise<void> {
  connect(applyEvent, (message) =>
    addError(
      'engine',
      'WorkerFailed',
      `The training worker failed: ${message}. Reload the page; if it happens again, your browser may not support module workers.`,
    ),
  );
  send({ type: 'init', backend });
  send({ type: 'listCheckpoints' });
  watchQueue();
  watchSftPreview();
  // A model added from the hub, a URL or files: the demo data follows its task once its summary arrives.
  useStore.subscribe((st, prev) => {
    if (
      !st.summary ||
      st.summary === prev.summary ||
      st.dataOrigin !== 'demo' ||
      st.dataLoading ||
      st.phase === 'preparing'
    )
      return;
    const demo = st.demoChoice[st.summary.task];
    if (st.dataFile?.name !== demo) void loadDemoData(demo);
  });
  const present = await Promise.all(
    BUNDLED_MODELS.map(async (m) => ((await isPresent(`${BASE}models/${m.id}/model.safetensors`)) ? m : null)),
  );
  const models = present.filter((m) => m !== null);
  if (models.length) useStore.setState({ models });
  await selectModel(useStore.getState().modelId);
}

async function isPresent(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { method: 'HEAD' });
    return r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
  } catch {
    return false;
  }
}

/** Chooses a bundled model; the demo data follows the model's task unless the person uploaded their own. */
export async function selectModel(id: string): Promise<void> {
  const s = useStore.getState();
  const model = s.models.find((m) => m.id === id) ?? BUNDLED_MODELS.find((m) => m.id === id);
  if (!model) return;
  clearErrors(['model']);
  useStore.setState({ modelId: id, summary: null, modelLoading: true });
  send({ type: 'inspect', model: id });
  const demo = s.demoChoice[model.task];
  if (s.dataOrigin === 'demo' && s.dataFile?.name !== demo) await loadDemoData(demo);
}

/** Loads a model from the Hugging Face hub, a folder URL, or dropped/picked files; it joins the picker when read. */
export function addModel(ref: ModelRef): void {
  clearErrors(['model']);
  useStore.setState({ modelLoading: true, modelProgress: null });
  send({ type: 'addModel', ref });
}

/** Reads picked or dropped files (a folder keeps its relative paths) and adds them as a model. */
export async function addModelFiles(files: File[]): Promise<void> {
  if (!files.length) return;
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const folder = path(files[0]).includes('/') ? path(files[0]).split('/')[0] : '';
  const name = folder || (files.length === 1 ? files[0].name : `${files.length} files`);
  const read = await Promise.all(
    files.map(async (f) => ({ name: path(f), bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
  addModel({ kind: 'files', name, files: read });
}

export const setHubBase = (hubBase: string) => useStore.setState({ hubBase });

/** Fetches a bundled data set; the worker parses it for the preview (dataLoading until it answers). */
export async function loadDemoData(name: string): Promise<void> {
  useStore.setState({ dataLoading: true });
  try {
    const r = await fetch(`${BASE}datasets/${name}`);
    // A server without the file may answer with its HTML page instead of an error; that is not data either.
    const text = await bundledText(r);
    if (text === undefined) throw new Error(r.ok ? 'the server has no such file' : `HTTP ${r.status}`);
    setData(name, text, 'demo');
  } catch (e) {
    useStore.setState({ dataLoading: false });
    addError(
      'data',
      'DemoMissing',
      `The demo data set ${name} could not be loaded (${(e as Error).message}). Upload a file instead.`,
    );
  }
}

/** Chooses the bundled demo `file` for the model's task and loads it; a file not offered for the task
 * (DEMO_SETS) changes nothing. An instruction set switches instruction tuning on, as an uploaded one does. */
export async function chooseDemo(file: string): Promise<void> {
  const task = useStore.getState().summary?.task;
  if (!task || !DEMO_SETS[task].some((d) => d.file === file)) return;
  useStore.setState((s) => ({ demoChoice: { ...s.demoChoice, [task]: file } }));
  await loadDemoData(file);
}

/** Reads an uploaded file (CSV, TSV, JSONL or TXT); the worker parses it for the preview. */
export async function uploadData(file: File): Promise<void> {
  useStore.setState({ dataLoading: true });
  let text: string;
  try {
    // Decoding happens off the main thread; only the parse would block it, and that runs in the worker.
    text = await file.text();
  } catch (e) {
    useStore.setState({ dataLoading: false });
    addError('data', 'Unreadable', `${file.name} could not be read: ${(e as Error).message}. Is it still on the disk?`);
    return;
  }
  setData(file.name, text, 'upload');
}

function setData(name: string, text: string, origin: 'demo' | 'upload'): void {
  clearErrors(['data']);
  requestPreview({ name, text, origin });
}

export function setSettings(patch: Partial<RunSettings>): void {
  useStore.getState().setSettings(patch);
}

/** Switches instruction tuning on (with the current or default options) or off, or changes its options. */
export function setSft(patch: Partial<SftSettings> | null): void {
  const current = useStore.getState().settings.sft ?? { format: 'auto', trainOnPrompt: false };
  setSettings({ sft: patch === null ? null : { ...current, ...patch } });
}

/** Why Start is disabled, or null when a run can start. */
export function startBlocker(s: AppState = useStore.getState()): string | null {
  if (!s.summary) return s.modelLoading ? 'Loading the model…' : 'Choose a model.';
  if (!s.dataFile || !s.preview) return 'Choose a data set.';
  const problem = dataProblem(s.preview, s.summary.task);
  if (problem) return problem;
  if (sftActive(s) && s.sftPreviewError) return s.sftPreviewError;
  if (s.settings.targets.length === 0) return 'Pick at least one module type to adapt.';
  if (s.phase === 'training' || s.phase === 'preparing') return 'Training is running.';
  return null;
}

export function startTraining(): void {
  const s = useStore.getState();
  if (startBlocker() !== null || !s.summary || !s.dataFile) return;
  // A run the person starts replaces a queued comparison run.
  useStore.setState({ queuedRun: null });
  // Instruction tuning travels with the settings only when it applies (a causal LM on an instruction file).
  const settings = { ...s.settings, sft: sftActive(s) ? s.settings.sft : null };
  launch({ name: null, modelId: s.modelId, task: s.summary.task, settings, data: s.dataFile });
}

/**
 * Starts a run of `l` (the run list records it when the worker announces it). Its settings are sent as they are:
 * `l.settings.sft` is set only for instruction tuning.
 */
function launch(l: Launch): void {
  const s = useStore.getState();
  clearErrors(['training', 'settings', 'data', 'try', 'export', 'engine']);
  useStore.setState({
    runs: syncedRuns(s, null),
    currentRunId: null,
    launching: l,
    ...EMPTY_RUN,
    phase: 'preparing',
    run: { modelId: l.modelId, task: l.task, method: l.settings.method, sft: !!l.settings.sft },
    generation: null,
    classification: null,
    chat: null,
    exported: null,
    onnxExport: null,
    scrubStep: null,
  });
  send({ type: 'start', model: l.modelId, data: l.data, settings: l.settings });
}

/**
 * The paper's comparison: queues a LoRA run with the same model, data, seed and steps as the dynamic-rank run `runId`
 * (the current run by default) and the LoRA rank whose trainable-parameter count is closest to that run's at its
 * final budget. It starts now when nothing is training, else when the current run is done or stopped.
 */
export function compareWithLora(runId?: string): void {
  const s = useStore.getState();
  const run = s.runs.find((r) => r.id === (runId ?? s.currentRunId));
  if (!run) return;
  clearErrors(['training']);
  let made: ReturnType<typeof loraComparison>;
  try {
    made = loraComparison(run);
  } catch (e) {
    if (!(e instanceof CompareError)) throw e;
    addError('training', e.code, e.message);
    return;
  }
  const name = `${runName(s.runs.length + 1, made.settings)} (vs ${run.name.split(' · ')[0]})`;
  useStore.setState({
    queuedRun: {
      name,
      modelId: run.modelId,
      task: run.task,
      settings: made.settings,
      data: run.data,
      forRunId: run.id,
      match: made.match,
    },
    lastMatch: { forRunId: run.id, match: made.match },
    overlayRunIds: s.overlayRunIds.includes(run.id) ? s.overlayRunIds : [...s.overlayRunIds, run.id],
  });
  startQueued();
}

const busy = (phase: AppState['phase']) => phase === 'training' || phase === 'preparing' || phase === 'paused';

/** Starts the queued run when nothing is training or paused. */
function startQueued(): void {
  const s = useStore.getState();
  const q = s.queuedRun;
  if (!q || busy(s.phase)) return;
  useStore.setState({ queuedRun: null });
  const { match: _, ...l } = q;
  launch(l);
}

export const cancelQueued = () => useStore.setState({ queuedRun: null });

let watching = false;
/** Starts a queued run once the current run is done or stopped (once per page). */
export function watchQueue(): void {
  if (watching) return;
  watching = true;
  useStore.subscribe((st, prev) => {
    if (st.queuedRun && st.phase !== prev.phase && !busy(st.phase)) startQueued();
  });
}

/** Continues a saved run from checkpoint `id`: the worker restores its model, data and settings, then trains on. */
export function resumeFromCheckpoint(id: string): void {
  const s = useStore.getState();
  if (s.phase === 'training' || s.phase === 'preparing') return;
  clearErrors(['training', 'settings', 'data', 'try', 'export', 'engine', 'model']);
  useStore.setState({
    runs: syncedRuns(s, null),
    currentRunId: null,
    ...EMPTY_RUN,
    phase: 'preparing',
    generation: null,
    classification: null,
    chat: null,
    exported: null,
    onnxExport: null,
    scrubStep: null,
  });
  send({ type: 'resumeCheckpoint', id });
}

export const deleteCheckpoint = (id: string) => send({ type: 'deleteCheckpoint', id });

export const pauseTraining = () => send({ type: 'pause' });
export const resumeTraining = () => send({ type: 'resume' });
export const stopTraining = () => send({ type: 'stop' });
/** Validation metrics for the adapter as it is now (paused or stopped runs; done runs are evaluated at the end). */
export const evaluateNow = () => send({ type: 'evaluate' });

export function generateText(
  prompt: string,
  opts: { maxTokens: number; temperature: number; topK: number; seed: number },
): void {
  clearErrors(['try']);
  useStore.setState({ tryBusy: true });
  send({ type: 'generate', prompt, ...opts });
}

/** Sends one user message to an instruction-tuned run: the base and the adapted model answer it greedily. */
export function chatWith(message: string, maxTokens: number): void {
  clearErrors(['try']);
  useStore.setState({ tryBusy: true });
  send({ type: 'chat', message, maxTokens });
}

export function classifyText(text: string): void {
  clearErrors(['try']);
  useStore.setState({ tryBusy: true });
  send({ type: 'classify', text });
}

/** Test hook (?debug): makes the worker lose its GPU device, now or during each of its next `times` checkpoints. */
export const simulateDeviceLoss = (during?: 'checkpoint', times = 1) =>
  send({ type: 'debugLoseDevice', ...(during ? { during, times } : {}) });

/** Test hook (?debug): on a CPU-emulated adapter, the worker's next runs take the kernels a GPU runs (tiled matmuls,
 * tree reductions) and tune them after the first step, as on a GPU. */
export const takeGpuPath = () => send({ type: 'debugGpuPath' });

export function exportRun(): void {
  clearErrors(['export']);
  useStore.setState({ exportBusy: true, exported: null });
  send({ type: 'export' });
}

/** The merged model as a transformers.js folder (zip), built in the worker; try-it then runs it beside ours. */
export function exportOnnx(): void {
  clearErrors(['export']);
  useStore.setState({ exportBusy: true, onnxExport: null });
  send({ type: 'exportOnnx' });
}
