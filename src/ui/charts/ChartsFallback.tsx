// What the charts' cards show while their chunk loads (a moment after the page's first paint): the cards at their
// size, so nothing below them moves when the charts arrive.

import { chartStyle } from './rechartsParts';

const CARDS = ['Loss and learning rate', 'Live components vs budget', 'Importance of components (EMA, log scale)'];

export function ChartsFallback() {
  return (
    <>
      {CARDS.map((c) => (
        <figure key={c} className="card chart" aria-busy="true">
          <figcaption>{c}</figcaption>
          <div style={chartStyle()} />
        </figure>
      ))}
    </>
  );
}
