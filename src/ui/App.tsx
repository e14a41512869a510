// The playground page: set-up on the left; run controls, live charts, rank allocation, try-it and export on the right.

import { lazy, Suspense } from 'react';
import { CheckpointsPanel } from './CheckpointsPanel';
import { ChartsFallback } from './charts/ChartsFallback';
import { EnginePanel } from './EnginePanel';
import { ExportPanel } from './ExportPanel';
import { Header } from './Header';
import { RunBar } from './RunBar';
import { RankPanel } from './rank/RankPanel';
import { RunsPanel } from './runs/RunsPanel';
import { SetupPanel } from './setup/SetupPanel';
import { TryPanel } from './try/TryPanel';

// Recharts in a chunk of its own, requested as the page starts (not when a run does): the first load is lighter and
// the charts are mounted long before a run's first step.
const ChartsGrid = lazy(() => import('./charts/ChartsGrid'));

export function App() {
  return (
    <div className="app">
      <Header />
      <main className="layout">
        <SetupPanel />
        <div className="results">
          <RunBar />
          <CheckpointsPanel />
          <div className="charts">
            <Suspense fallback={<ChartsFallback />}>
              <ChartsGrid />
            </Suspense>
          </div>
          <RankPanel />
          <RunsPanel />
          <TryPanel />
          <ExportPanel />
          <EnginePanel />
        </div>
      </main>
    </div>
  );
}
