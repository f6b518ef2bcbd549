// app/messages.ts: pure helpers for the conversation view: merging message lists that arrive
// from history pages and live events in any order, and grouping by day and sender.
import type { Message, ReactionCount } from '../sdk';

/**
 * Of two copies of one message, the later state (deleted beats edited beats original). Events
 * carry `reactions: []`, so counts held from history or reaction events are kept.
 */
export function newer(a: Message, b: Message): Message {
  if (a.deleted_at !== null) return a;
  if (b.deleted_at !== null) return b;
  const later = (b.edited_at ?? 0) > (a.edited_at ?? 0) ? b : a;
  const other = later === a ? b : a;
  if (!later.reactions?.length && other.reactions?.length) return { ...later, reactions: other.reactions };
  return later;
}

/** The message with one emoji's count set as a reaction event says (0 removes it). */
export function applyReaction(m: Message, emoji: string, count: number): Message {
  const list = m.reactions ?? [];
  const i = list.findIndex((r) => r.emoji === emoji);
  let next: ReactionCount[];
  if (count <= 0) next = list.filter((r) => r.emoji !== emoji);
  else if (i >= 0) next = list.map((r) => (r.emoji === emoji ? { emoji, count } : r));
  else next = [...list, { emoji, count }];
  return { ...m, reactions: next };
}

export type Tick = 'sent' | 'delivered' | 'read';

/** The delivery tick of our message `seq` given the DM peer's positions. */
export function tickFor(seq: number, peerDelivered: number, peerRead: number): Tick {
  if (peerRead >= seq) return 'read';
  if (peerDelivered >= seq) return 'delivered';
  return 'sent';
}

/** Merges `incoming` into `list` (both ascending by seq): deduplicated by id, sorted by seq. */
export function mergeMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return list as Message[];
  const last = list[list.length - 1];
  // Fast path: a live event that simply follows.
  if (incoming.length === 1 && (!last || incoming[0].seq > last.seq)) return [...list, incoming[0]];
  const byId = new Map<string, Message>();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) {
    const had = byId.get(m.id);
    byId.set(m.id, had ? newer(had, m) : m);
  }
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

export function sameDay(a: number, b: number): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

export interface MessageRow {
  message: Message;
  dayBreak: string | null;   // a day label shown above this message
  continued: boolean;        // same sender as the previous message within a few minutes: no header
}

const kGroupGapMs = 5 * 60 * 1000;

export function layoutRows(messages: readonly Message[], now = Date.now()): MessageRow[] {
  const rows: MessageRow[] = [];
  let prev: Message | null = null;
  for (const m of messages) {
    const newDay = !prev || !sameDay(prev.created_at, m.created_at);
    const continued = !newDay && prev !== null && prev.sender_id === m.sender_id &&
      m.created_at - prev.created_at < kGroupGapMs && prev.deleted_at === null && m.reply_to === null;
    rows.push({ message: m, dayBreak: newDay ? dayLabel(m.created_at, now) : null, continued });
    prev = m;
  }
  return rows;
}

// Formatters made once: toLocale*String(undefined, options) builds a new Intl.DateTimeFormat on
// every call, which dominated rendering rows while scrolling a long history.
const fmt = {
  time: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }),
  day: new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' }),
  dayYear: new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }),
  weekday: new Intl.DateTimeFormat(undefined, { weekday: 'short' }),
  monthDay: new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }),
  dayMonth: new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }),
  full: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
};

export function dayLabel(t: number, now = Date.now()): string {
  if (sameDay(t, now)) return 'Today';
  if (sameDay(t, now - 86400000)) return 'Yesterday';
  const d = new Date(t);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return (sameYear ? fmt.day : fmt.dayYear).format(d);
}

export function timeLabel(t: number): string {
  return fmt.time.format(t);
}

/** Date and time, for a tooltip (e.g. when a message was edited). */
export function dateTimeLabel(t: number): string {
  return fmt.full.format(t);
}

/** A short relative label for the room list: time today, weekday this week, date before. */
export function shortWhen(t: number, now = Date.now()): string {
  if (sameDay(t, now)) return timeLabel(t);
  if (now - t < 6 * 86400000) return fmt.weekday.format(t);
  return fmt.monthDay.format(t);
}

/** "Last seen …" for an offline user's header. */
export function lastSeenText(at: number | null, now: number): string {
  if (!at) return 'Offline';
  const min = Math.round((now - at) / 60000);
  if (min < 1) return 'Last seen just now';
  if (min < 60) return `Last seen ${min} min ago`;
  if (sameDay(at, now)) return `Last seen today at ${timeLabel(at)}`;
  if (sameDay(at, now - 86400000)) return `Last seen yesterday at ${timeLabel(at)}`;
  return `Last seen ${fmt.dayMonth.format(at)}`;
}
