// The playground page: set-up on the left; run controls, live charts, rank allocation, try-it and export on the right.

import { CheckpointsPanel } from './CheckpointsPanel';
import { BudgetChart } from './charts/BudgetChart';
import { ImportanceChart } from './charts/ImportanceChart';
import { LossChart } from './charts/LossChart';
import { EnginePanel } from './EnginePanel';
import { ExportPanel } from './ExportPanel';
import { Header } from './Header';
import { RunBar } from './RunBar';
import { RankPanel } from './rank/RankPanel';
import { SetupPanel } from './setup/SetupPanel';
import { TryPanel } from './try/TryPanel';

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
            <LossChart />
            <BudgetChart />
            <ImportanceChart />
          </div>
          <RankPanel />
          <TryPanel />
          <ExportPanel />
          <EnginePanel />
        </div>
      </main>
    </div>
  );
}
