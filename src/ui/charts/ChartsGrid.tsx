// The live charts, the page's only recharts code: App loads this module lazily (its own chunk, recharts with it), so
// the page's first script does not carry recharts; the charts still mount, with empty axes, before any run.

import { BudgetChart } from './BudgetChart';
import { ImportanceChart } from './ImportanceChart';
import { LossChart } from './LossChart';

export default function ChartsGrid() {
  return (
    <>
      <LossChart />
      <BudgetChart />
      <ImportanceChart />
    </>
  );
}
