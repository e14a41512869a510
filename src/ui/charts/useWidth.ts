// The width of a chart's box, followed with a ResizeObserver, so the SVG is drawn at its real pixel size. The first
// width comes from the observer too (delivered after layout, before paint): reading it in an effect would force a
// synchronous layout of the whole page each time a chart mounts.

import { useLayoutEffect, useRef, useState, type RefObject } from 'react';

export function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.floor(e.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}
