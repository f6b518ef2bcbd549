// app/message_list.tsx: the conversation's message timeline, virtualized (@tanstack/virtual-core
// through use_virtualizer.ts): only the rows near the viewport are in the DOM, each measured from
// the DOM once drawn, so a room with 10,000 loaded messages scrolls like one with 50.
//
// Anchored at the end: while the reader is at the bottom, new messages keep them there; when
// they have scrolled up, nothing moves what they are reading and a "N new messages" / "Jump to
// latest" control appears. Scrolling near the top loads older history, and the row under the
// viewport stays put when it is prepended (the virtualizer anchors on row keys, timeline.ts).
//
// Accessibility: the rows are a `feed` of `article`s (focusable, position in set); in the feed,
// ArrowUp/ArrowDown move between messages, PageUp/PageDown a screen at a time, Home/End to the
// oldest loaded and the newest; on the scroll region itself PageUp/PageDown scroll natively and
// Home/End go to the top of the loaded history and the latest message. New messages are
// announced politely by the app's live region (store.announcement).
//
// A jump to a message (store.jumpTo, e.g. a search result) arrives as conv.focus: the list
// scrolls it to the middle and flashes it. In a window of the past (conv.hasMoreAfter) newer
// pages load as the view nears the bottom, and "Jump to latest" returns to the live end. The
// conversation holds the list's handle (MessageListHandle: scrollToMessage, scrollToLatest).
import type { Range, Virtualizer, VirtualItem } from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id, Message, RoomSummary } from '../sdk';
import { Avatar } from './avatar';
import { MessageItem, PendingItem } from './message_item';
import type { AppStore } from './store';
import {
  buildTimeline, countNewerThan, estimateRowSize, indexOfKey, indexOfMessage, jumpLabel, navTarget, type MessageListHandle, type NavKey,
  type TimelineRow,
} from './timeline';
import { useVirtualizer } from './use_virtualizer';

/** Within this distance of the bottom (px) the reader counts as "at the latest message". */
const kNearBottomPx = 80;
/** Older history is fetched when the top of the view is within this distance (px) of the top. */
const kLoadOlderPx = 1200;
/** Rows drawn beyond the viewport on each side. */
const kOverscan = 8;
const kHighlightMs = 2500;
/** Rooms whose measured row sizes are kept after their list unmounts (most recent first out last). */
const kSizeCacheRooms = 8;

// Measured row sizes per room, kept when the list unmounts (another room opened) and given back
// when it mounts again, so that a room reopens exactly at its bottom instead of settling there
// from estimates. Bounded: the least recently closed room is forgotten first.
const sizeCache = new Map<Id, VirtualItem[]>();
function keepSizes(room: Id, items: VirtualItem[]): void {
  sizeCache.delete(room);
  if (items.length) sizeCache.set(room, items);
  while (sizeCache.size > kSizeCacheRooms) sizeCache.delete(sizeCache.keys().next().value!);
}

interface Props {
  store: AppStore;
  room: RoomSummary;
  editing: Id | null;
  onEdit: (id: Id) => void;
  onEditDone: () => void;
  onReply: (m: Message) => void;
  /** Filled with the list's handle while mounted (the conversation scrolls to the end on send). */
  handleRef?: { current: MessageListHandle | null };
}

export function MessageList({ store, room, editing, onEdit, onEditDone, onReply, handleRef }: Props) {
  const id = room.room.id;
  const conv = store.conv(id);
  const outboxVersion = store.outboxVersion.value;
  const meId = store.me.value?.id;
  void store.users.value;
  const group = room.room.kind === 'group';
  const title = store.roomTitle(room);

  // Rebuilt only when the history, the outbox or the divider changes (not on every scroll).
  const rows = useMemo(
    () => buildTimeline({ messages: conv.messages, pending: store.pending(id), dividerAfter: store.dividerAfter(id), me: meId }),
    [conv.messages, outboxVersion, id, meId, store.dividerAfter(id)]);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  const scroller = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(true);
  /** The last message's seq when the reader left the bottom (what "new" is counted from). */
  const [seenSeq, setSeenSeq] = useState<number | null>(null);
  const [highlight, setHighlight] = useState<Id | null>(null);
  /** True once the view has been at the end or on a target: older history may load from then on. */
  const settled = useRef(false);
  const target = useRef<Id | null>(null);
  const focusKey = useRef<string | null>(null);
  const pendingFocus = useRef<string | null>(null);

  // Callbacks of one identity for the list's lifetime (they read the rows through a ref): a new
  // getItemKey would make the virtualizer recompute every row's position on each render.
  const [callbacks] = useState(() => ({
    getScrollElement: () => scroller.current,
    estimateSize: (i: number) => estimateRowSize(rowsRef.current[i]),
    getItemKey: (i: number) => rowsRef.current[i]?.key ?? i,
    initialMeasurementsCache: sizeCache.get(id) ?? [],
    // The focused message stays drawn while it is scrolled away, so focus is never lost.
    rangeExtractor: (range: Range) => {
      const out: number[] = [];
      const start = Math.max(0, range.startIndex - range.overscan);
      const end = Math.min(range.count - 1, range.endIndex + range.overscan);
      const f = focusKey.current ? indexOfKey(rowsRef.current, focusKey.current) : -1;
      if (f >= 0 && f < start) out.push(f);
      for (let i = start; i <= end; i++) out.push(i);
      if (f > end) out.push(f);
      return out;
    },
  }));
  const v: Virtualizer<HTMLDivElement, HTMLDivElement> = useVirtualizer<HTMLDivElement, HTMLDivElement>({
    ...callbacks,
    count: rows.length,
    overscan: kOverscan,
    paddingEnd: 8,
    anchorTo: 'end',
    // In a window of the past (after a jump, conv.hasMoreAfter) the end is not the live end:
    // newer pages appended there keep the view where it is.
    followOnAppend: !conv.hasMoreAfter,
    scrollEndThreshold: kNearBottomPx,
  });

  // A row above the view that changes size (measured for the first time, the loading line at
  // the top giving way, a reaction or edit above) moves the scroll position by as much, whichever
  // way the reader is scrolling, so what they are reading stays put. (The library's default
  // skips rows re-measured while scrolling up, which shifts the view while paging back.) A row
  // across the top edge that grows at its bottom is not compensated: its visible top stays.
  v.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, inst) => {
    const offset = inst.scrollOffset ?? 0;
    return inst.itemSizeCache.has(item.key) ? item.end <= offset : item.start < offset;
  };

  // Pages of history as the view nears either end of what is loaded (newer ones only in a
  // window of the past).
  const maybeLoadMore = () => {
    const el = scroller.current;
    if (!el) return;
    const c = store.conv(id);
    if (!c.loaded || c.loading || c.error) return;
    const fits = el.scrollHeight <= el.clientHeight + 1;
    if (c.hasMoreBefore && (fits || (settled.current && el.scrollTop < kLoadOlderPx))) void store.loadOlder(id);
    else if (c.hasMoreAfter && (fits || el.scrollHeight - el.scrollTop - el.clientHeight < kLoadOlderPx)) void store.loadNewer(id);
  };

  const lastSeq = () => { const ms = store.conv(id).messages; return ms.length ? ms[ms.length - 1].seq : 0; };

  const onScroll = () => {
    const el = scroller.current!;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < kNearBottomPx && !store.conv(id).hasMoreAfter;
    if (near) settled.current = true;
    if (near !== atBottom) {
      setAtBottom(near);
      setSeenSeq(near ? null : lastSeq());
    }
    maybeLoadMore();
  };

  // After each change of the history (a page arrived, loading finished): the view may still be
  // near the top, or the history may not fill the view yet.
  useEffect(() => {
    const raf = requestAnimationFrame(maybeLoadMore);
    return () => cancelAnimationFrame(raf);
  }, [conv.messages, conv.loading, conv.loaded, conv.hasMoreBefore, conv.hasMoreAfter]);

  const toLatest = useRef(false);
  const scrollToLatest = (behavior: 'auto' | 'smooth' = 'auto') => {
    setAtBottom(true);
    setSeenSeq(null);
    if (store.conv(id).hasMoreAfter) {
      // A window of the past: back to the live end first, then to its bottom (effect below).
      toLatest.current = true;
      void store.loadLatest(id);
      return;
    }
    const el = scroller.current;
    const far = !el || el.scrollHeight - el.scrollTop - el.clientHeight > 3 * el.clientHeight;
    v.scrollToEnd({ behavior: far ? 'auto' : behavior });
  };

  const focusRow = (index: number, align: 'auto' | 'start' | 'end' | 'center' = 'auto') => {
    const row = rowsRef.current[index];
    if (!row) return;
    focusKey.current = row.key;
    pendingFocus.current = row.key;
    v.scrollToIndex(index, { align });
    applyPendingFocus();
  };

  // Focuses the row asked for once it is drawn (now, or after the render its scroll causes).
  const applyPendingFocus = () => {
    const k = pendingFocus.current;
    if (k === null) return;
    const el = scroller.current?.querySelector<HTMLElement>(`[data-row-key="${CSS.escape(k)}"] article`);
    if (el) { pendingFocus.current = null; el.focus({ preventScroll: true }); }
  };

  // Scrolls to the target message once it is loaded, and marks it (the "flash" animation;
  // cleared and set again so that jumping to the same message twice replays it).
  const tryTarget = () => {
    const mid = target.current;
    if (mid === null) return;
    const i = indexOfMessage(rowsRef.current, mid);
    if (i < 0) return;
    target.current = null;
    settled.current = true;
    setAtBottom(false);
    setHighlight(null);
    requestAnimationFrame(() => setHighlight(mid));
    v.scrollToIndex(i, { align: 'center' });
    if (store.conv(id).focus?.id === mid) store.focusDone(id);
  };

  // The handle, for the conversation (scroll to the latest after sending) and anything else
  // that holds the list.
  useEffect(() => {
    const handle: MessageListHandle = {
      room: id,
      scrollToMessage: (mid) => { target.current = mid; tryTarget(); },
      scrollToLatest: () => scrollToLatest('auto'),
    };
    if (handleRef) handleRef.current = handle;
    return () => { if (handleRef?.current === handle) handleRef.current = null; };
  }, [id]);

  // Opened on a history already loaded (the room was open before): start at the latest message
  // (the virtualizer follows appends, but mounting with rows is not one). A jump target, if
  // any, is handled just below and wins.
  useLayoutEffect(() => {
    if (rowsRef.current.length > 1 && !conv.focus && !conv.hasMoreAfter) v.scrollToEnd();
    return () => keepSizes(id, v.takeSnapshot());
  }, []);

  // A jump through the store (store.jumpTo, e.g. a search result) sets conv.focus.
  useLayoutEffect(() => {
    if (conv.focus) { target.current = conv.focus.id; tryTarget(); }
  }, [conv.focus?.nonce]);

  // A target that was not loaded yet (the store loads it) is tried on every change of the rows;
  // a pending focus is applied once its row is drawn; "jump to latest" from a window of the past
  // goes to the bottom once the live end is loaded.
  useLayoutEffect(() => {
    tryTarget();
    applyPendingFocus();
    if (toLatest.current && !conv.hasMoreAfter && conv.loaded && !conv.loading) {
      toLatest.current = false;
      v.scrollToEnd();
    }
  });

  useEffect(() => {
    if (highlight === null) return;
    const t = setTimeout(() => setHighlight(null), kHighlightMs);
    return () => clearTimeout(t);
  }, [highlight]);

  const rowIndexOf = (el: EventTarget | null): number => {
    const row = (el as HTMLElement | null)?.closest?.('[data-index]');
    return row ? Number((row as HTMLElement).dataset.index) : -1;
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const el = scroller.current!;
    const onArticle = (e.target as HTMLElement).tagName === 'ARTICLE';
    if (!onArticle) {
      if (e.target !== el) return; // keys inside an edit box, a button, ... are theirs
      if (e.key === 'Home') { e.preventDefault(); v.scrollToIndex(0, { align: 'start' }); }
      else if (e.key === 'End') { e.preventDefault(); scrollToLatest(); }
      return;
    }
    const from = rowIndexOf(e.target);
    if (from < 0) return;
    if (e.key === 'PageUp' || e.key === 'PageDown') {
      e.preventDefault();
      const page = Math.max(40, el.clientHeight - 60);
      const item = v.getVirtualItemForOffset(Math.max(0, el.scrollTop + (e.key === 'PageUp' ? -page : page + el.clientHeight - 1)));
      const to = item ? Math.max(1, item.index) : (e.key === 'PageUp' ? 1 : rowsRef.current.length - 1);
      focusRow(to, e.key === 'PageUp' ? 'start' : 'end');
      return;
    }
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown' || e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const to = navTarget(rowsRef.current, from, e.key as NavKey);
      if (to === null) return;
      if (e.key === 'End') { scrollToLatest(); focusKey.current = rowsRef.current[to].key; pendingFocus.current = focusKey.current; applyPendingFocus(); return; }
      focusRow(to);
    }
  };

  const onFocusIn = (e: FocusEvent) => {
    const t = e.target as HTMLElement;
    if (t.tagName !== 'ARTICLE') return;
    const i = rowIndexOf(t);
    focusKey.current = i >= 0 ? rowsRef.current[i]?.key ?? null : null;
  };
  const onFocusOut = (e: FocusEvent) => {
    if (!scroller.current?.contains(e.relatedTarget as Node | null)) focusKey.current = null;
  };

  const newCount = atBottom || seenSeq === null || conv.hasMoreAfter ? 0 : countNewerThan(conv.messages, seenSeq, meId);
  const showJump = !atBottom || conv.hasMoreAfter;
  const articles = rows.length - 1;
  const setSize = conv.hasMoreBefore ? -1 : articles;
  const items = v.getVirtualItems();

  const renderRow = (row: TimelineRow, index: number) => {
    switch (row.kind) {
      case 'top':
        return (
          <div class="timeline-top">
            {conv.loading ? <div class="loading">Loading messages…</div>
              : conv.loaded && !conv.hasMoreBefore ? (
                <div class="timeline-start">
                  <Avatar id={room.room.kind === 'dm' ? room.dm_peer_id ?? id : id} name={title} size={56} group={group} />
                  <div class="timeline-start-title">{title}</div>
                  <div class="muted">{room.room.kind === 'dm' ? `This is the beginning of your conversation with ${title}.` : `This is the beginning of ${title}.`}</div>
                </div>
              ) : null}
          </div>
        );
      case 'message': {
        const m = row.message;
        return (
          <MessageItem store={store} room={id} m={m} dayBreak={row.dayBreak} divider={row.divider} continued={row.continued}
                       mine={m.sender_id === meId} editing={editing === m.id} highlighted={highlight === m.id}
                       posInSet={index} setSize={setSize}
                       tick={store.tick(room, m)} group={group}
                       onReply={() => onReply(m)} onEdit={() => onEdit(m.id)}
                       onEditDone={onEditDone} canModerate={room.role !== 'member' && group} />
        );
      }
      case 'pending':
        return <PendingItem store={store} p={row.pending} posInSet={index} setSize={setSize} />;
    }
  };

  return (
    <div class="timeline-wrap">
      {conv.error && (
        <div class="form-error timeline-error" role="alert">
          {conv.error} <button class="link" type="button" onClick={() => void (conv.loaded ? store.loadOlder(id) : store.loadLatest(id))}>Try again</button>
        </div>
      )}
      <div class="timeline" ref={scroller} onScroll={onScroll} onKeyDown={onKeyDown} onFocusIn={onFocusIn} onFocusOut={onFocusOut}
           tabIndex={0} role="region" aria-label="Messages">
        <div class="timeline-inner" style={{ height: `${v.getTotalSize()}px` }}
             {...(articles > 0 ? { role: 'feed', 'aria-label': 'Message list', 'aria-busy': conv.loading ? 'true' : 'false' } : {})}>
          {items.map((vi) => {
            const row = rows[vi.index];
            if (!row) return null;
            return (
              <div key={row.key} class="timeline-row" data-index={vi.index} data-row-key={row.key} ref={v.measureElement}
                   style={{ transform: `translateY(${vi.start}px)` }}>
                {renderRow(row, vi.index)}
              </div>
            );
          })}
        </div>
      </div>
      {showJump && (
        <button class={`jump${newCount > 0 ? ' has-new' : ''}`} type="button" onClick={() => { scrollToLatest('smooth'); scroller.current?.focus({ preventScroll: true }); }}>
          {jumpLabel(newCount)} <span aria-hidden="true">↓</span>
        </button>
      )}
    </div>
  );
}
