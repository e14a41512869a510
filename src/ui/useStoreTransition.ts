// A store value for views that may lag the store by a moment (the charts, the heatmap, the prune log). It is React
// state set in a transition, so after each store update React renders those views in their own interruptible
// tasks, apart from the synchronous render of the run bar. useDeferredValue over useStore does not give that
// reliably: a component that reads the store with useSyncExternalStore in a deferred render has that render redone
// synchronously when the store changes meanwhile (React's tearing check), and a training run changes it every step.

import { startTransition, useEffect, useState } from 'react';
import { useStore, type AppState } from '../store';

/** `selector` must be stable (defined outside the component): the subscription is made once per selector. */
export function useStoreTransition<T>(selector: (s: AppState) => T): T {
  const [value, setValue] = useState(() => selector(useStore.getState()));
  useEffect(() => {
    // The store may have changed between this component's render and the subscription.
    const now = selector(useStore.getState());
    setValue(() => now);
    return useStore.subscribe((s, prev) => {
      const next = selector(s);
      if (next !== selector(prev)) startTransition(() => setValue(() => next));
    });
  }, [selector]);
  return value;
}
