// app/timeline.ts: the pure model behind the virtualized message list (message_list.tsx): the
// rows it draws (the top of the history, messages with their day separator, "new messages"
// divider and sender grouping, pending sends), their stable keys and size estimates, how many
// messages arrived below the view, and where keyboard navigation goes. No DOM, no Preact:
// everything here is tested in timeline.test.ts.
//
// Keys are what the virtualizer anchors on: when older history is prepended or a message is
// appended, the row under the top of the viewport keeps its key, so it stays where the reader
// sees it. A message row's key is its id; a pending send's is its client transaction id; the
// top row's is constant.
import type { Id, Message, PendingSend } from '../sdk';
import { dayLabel } from './messages';

export type TimelineRow =
  | { kind: 'top'; key: 'top' }
  | {
      kind: 'message'; key: Id; message: Message;
      dayBreak: string | null;   // a day label shown above this message
      divider: boolean;          // the "New messages" divider is shown above this message
      continued: boolean;        // same sender as the previous message within a few minutes: no header
    }
  | { kind: 'pending'; key: string; pending: PendingSend };

export interface TimelineInput {
  messages: readonly Message[];
  pending: readonly PendingSend[];
  /** The divider goes above the first message from someone else with a seq after this. */
  dividerAfter: number;
  me: Id | undefined;
  now?: number;
}

const kGroupGapMs = 5 * 60 * 1000;

// Local calendar day of a timestamp, cached per message object (history pages and live events
// keep message objects, so a 10,000-message list does not build 10,000 Dates per update).
const dayCache = new WeakMap<Message, number>();
function dayOf(m: Message): number {
  let d = dayCache.get(m);
  if (d === undefined) {
    const x = new Date(m.created_at);
    d = x.getFullYear() * 512 + x.getMonth() * 32 + x.getDate();
    dayCache.set(m, d);
  }
  return d;
}

/**
 * The rows of the timeline, oldest first: the top row (start of the conversation or a loading
 * line), the confirmed messages, then the pending sends whose echo has not arrived.
 */
export function buildTimeline({ messages, pending, dividerAfter, me, now = Date.now() }: TimelineInput): TimelineRow[] {
  const rows: TimelineRow[] = [{ kind: 'top', key: 'top' }];
  let prev: Message | null = null;
  let dividerShown = false;
  const echoed = new Set<string>();
  for (const m of messages) {
    if (m.client_txn_id && m.sender_id === me) echoed.add(m.client_txn_id);
    const newDay = prev === null || dayOf(prev) !== dayOf(m);
    const divider = !dividerShown && m.seq > dividerAfter && m.sender_id !== me;
    if (divider) dividerShown = true;
    const continued = !newDay && !divider && prev !== null && prev.sender_id === m.sender_id &&
      m.created_at - prev.created_at < kGroupGapMs && prev.deleted_at === null && m.reply_to === null;
    rows.push({ kind: 'message', key: m.id, message: m, dayBreak: newDay ? dayLabel(m.created_at, now) : null, divider, continued });
    prev = m;
  }
  for (const p of pending) {
    if (!echoed.has(p.client_txn_id)) rows.push({ kind: 'pending', key: `pending:${p.client_txn_id}`, pending: p });
  }
  return rows;
}

/** A first guess at a row's height in px before it is measured (then the DOM's size is used). */
export function estimateRowSize(row: TimelineRow | undefined): number {
  if (!row) return 40;
  switch (row.kind) {
    case 'top': return 48;
    case 'pending': return 60;
    case 'message': {
      const lines = Math.max(1, Math.ceil(row.message.body.length / 90));
      return (row.continued ? 6 : 34) + lines * 22 + (row.dayBreak ? 40 : 0) + (row.divider ? 36 : 0);
    }
  }
}

/** The index of the row with key `key`, or -1 (searched from the end). */
export function indexOfKey(rows: readonly TimelineRow[], key: string): number {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i].key === key) return i;
  return -1;
}

/** The index of the row holding message `id`, or -1. */
export function indexOfMessage(rows: readonly TimelineRow[], id: Id): number {
  // Searched from the end: targets are usually recent.
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (r.kind === 'message' && r.message.id === id) return i;
  }
  return -1;
}

/**
 * How many messages from others arrived after `lastSeenSeq` (the last message when the reader
 * left the bottom of the list): the "N new messages" count. Scans from the end only.
 */
export function countNewerThan(messages: readonly Message[], lastSeenSeq: number, me: Id | undefined): number {
  let n = 0;
  for (let i = messages.length - 1; i >= 0 && messages[i].seq > lastSeenSeq; i--) {
    if (messages[i].sender_id !== me) n++;
  }
  return n;
}

export type NavKey = 'ArrowUp' | 'ArrowDown' | 'Home' | 'End';

/**
 * The row keyboard focus moves to from row `from` (a message or pending row) on `key`, skipping
 * the top row, or null when it stays. Home and End go to the oldest loaded and the newest row.
 */
export function navTarget(rows: readonly TimelineRow[], from: number, key: NavKey): number | null {
  const first = rows.findIndex((r) => r.kind !== 'top');
  if (first < 0) return null;
  const last = rows.length - 1;
  let to: number;
  switch (key) {
    case 'ArrowUp': to = Math.max(first, from - 1); break;
    case 'ArrowDown': to = Math.min(last, from + 1); break;
    case 'Home': to = first; break;
    case 'End': to = last; break;
  }
  return to === from ? null : to;
}

/** The "jump to latest" control's text: the count of unseen messages when there are some. */
export function jumpLabel(newCount: number): string {
  if (newCount <= 0) return 'Jump to latest';
  return newCount === 1 ? '1 new message' : `${newCount > 99 ? '99+' : newCount} new messages`;
}

/**
 * What the mounted message list offers its holder (the conversation). Jumps from elsewhere go
 * through the store (store.jumpTo sets conv.focus, which the list follows).
 * REQUIRES: main thread.
 */
export interface MessageListHandle {
  readonly room: Id;
  /**
   * Scrolls message `id` to the middle of the view and highlights it. If it is not
   * loaded yet the list remembers it and goes there as soon as it is (the caller loads it,
   * e.g. store.jumpTo); a later call replaces the target.
   */
  scrollToMessage(id: Id): void;
  /** Scrolls to the newest message, back at the live end (after the reader sends one). */
  scrollToLatest(): void;
}
