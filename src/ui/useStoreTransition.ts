// A store value for views that may lag the store by a moment (the charts, the heatmap, the prune log). It is React
// state set in a transition, so after each store update React renders those views in their own interruptible
// tasks, apart from the synchronous render of the run bar. useDeferredValue over useStore does not give that
// reliably: a component that reads the store with useSyncExternalStore in a deferred render has that render redone
// synchronously when the store changes meanwhile (React's tearing check), and a training run changes it every step.
// With `intervalMs`, the view also updates at most once per interval (the charts: a few times a second however fast
// the run steps), and always with the latest value once the store rests.

import { startTransition, useEffect, useState } from 'react';
import { type AppState, useStore } from '../store';

export interface Throttle {
  /** Asks for a run: now when the last one is `intervalMs` old, else once at the end of the interval. */
  request(): void;
  cancel(): void;
}

export interface ThrottleOptions {
  intervalMs: number;
  /**
   * Run only at the clock's times `phaseMs + k * intervalMs`: throttles with the same interval and different phases
   * never run in the same task (the charts each redraw in a task of their own).
   */
  phaseMs?: number;
  now?: () => number;
}

/** Runs `run` at most once per `intervalMs`; a request during the interval is answered at its end (never dropped). */
export function throttle(run: () => void, opts: ThrottleOptions): Throttle {
  const now = opts.now ?? (() => performance.now());
  const { intervalMs, phaseMs } = opts;
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = () => {
    timer = null;
    last = now();
    run();
  };
  return {
    request() {
      if (timer !== null) return;
      const t = now();
      let due = Math.max(t, last + intervalMs);
      if (phaseMs !== undefined) due = phaseMs + Math.ceil((due - phaseMs) / intervalMs) * intervalMs;
      const wait = due - t;
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

export interface StoreTransitionOptions {
  /** Update the view at most once per this many milliseconds (0: after every store change). */
  intervalMs?: number;
  /** With intervalMs: update only at the times `phaseMs + k * intervalMs` (see throttle). */
  phaseMs?: number;
}

/** `selector` must be stable (defined outside the component): the subscription is made once per selector. */
export function useStoreTransition<T>(selector: (s: AppState) => T, opts: StoreTransitionOptions = {}): T {
  const intervalMs = opts.intervalMs ?? 0;
  const phaseMs = opts.phaseMs;
  const [value, setValue] = useState(() => selector(useStore.getState()));
  useEffect(() => {
    // The store may have changed between this component's render and the subscription.
    const now = selector(useStore.getState());
    setValue(() => now);
    let shown = now;
    const update = () => {
      const next = selector(useStore.getState());
      if (next === shown) return;
      shown = next;
      startTransition(() => setValue(() => next));
    };
    const gate = intervalMs > 0 ? throttle(update, { intervalMs, phaseMs }) : null;
    const unsubscribe = useStore.subscribe((s, prev) => {
      if (selector(s) === selector(prev)) return;
      if (gate) gate.request();
      else update();
    });
    return () => {
      unsubscribe();
      gate?.cancel();
    };
  }, [selector, intervalMs, phaseMs]);
  return value;
}
