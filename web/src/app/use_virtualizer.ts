// app/use_virtualizer.ts: the Preact binding for @tanstack/virtual-core (which is framework-
// agnostic; there is no official Preact adapter). One Virtualizer per mounted component, its
// options refreshed on every render, a re-render whenever it reports a change (range, scrolling,
// sizes), and the mount / update hooks it needs once the scroll element exists.
//
// Threading: browser main thread only. The virtualizer's onChange re-renders through Preact's
// normal (microtask-debounced) scheduling, so a scroll event's new range is drawn before the
// next frame is painted.
import {
  elementScroll, observeElementOffset, observeElementRect, Virtualizer, type PartialKeys, type VirtualizerOptions,
} from '@tanstack/virtual-core';
import { useLayoutEffect, useReducer, useState } from 'preact/hooks';

export type ElementVirtualizerOptions<S extends Element, I extends Element> =
  PartialKeys<VirtualizerOptions<S, I>, 'observeElementRect' | 'observeElementOffset' | 'scrollToFn'>;

export function useVirtualizer<S extends Element, I extends Element>(options: ElementVirtualizerOptions<S, I>): Virtualizer<S, I> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const resolved: VirtualizerOptions<S, I> = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    ...options,
    onChange: (instance, sync) => {
      rerender(0);
      options.onChange?.(instance, sync);
    },
  };
  const [instance] = useState(() => new Virtualizer<S, I>(resolved));
  // Every render: new count, keys and sizes. With anchorTo 'end' this is where the virtualizer
  // notices prepended or appended rows and keeps the row under the viewport in place.
  instance.setOptions(resolved);
  useLayoutEffect(() => instance._didMount(), []);
  useLayoutEffect(() => { instance._willUpdate(); });
  return instance;
}
