import { describe, expect, it } from 'vitest';
import type { Message, PendingSend } from '../sdk';
import { buildTimeline, countNewerThan, estimateRowSize, indexOfMessage, jumpLabel, navTarget, type TimelineRow } from './timeline';

const day = 86400000;
const t0 = new Date(2025, 5, 10, 12, 0).getTime();
const now = t0 + 30 * day;
function m(seq: number, extra: Partial<Message> = {}): Message {
  return { id: `m${seq}`, room_id: 'r', seq, sender_id: 'a', client_txn_id: null, body: `b${seq}`, reply_to: null,
           created_at: t0 + seq * 1000, edited_at: null, deleted_at: null, ...extra };
}
function p(txn: string): PendingSend {
  return { client_txn_id: txn, room_id: 'r', body: 'x', reply_to: null, created_at: now, state: 'queued',
           attempts: 0, error: null, notBefore: 0 } as PendingSend;
}
const msgRows = (rows: TimelineRow[]) => rows.filter((r) => r.kind === 'message') as Extract<TimelineRow, { kind: 'message' }>[];
const none = Number.MAX_SAFE_INTEGER;

describe('buildTimeline', () => {
  it('starts with the top row, then one row per message keyed by id, oldest first', () => {
    const rows = buildTimeline({ messages: [m(1), m(2)], pending: [], dividerAfter: none, me: 'a', now });
    expect(rows.map((r) => r.key)).toEqual(['top', 'm1', 'm2']);
  });

  it('keeps the keys of the rows already shown when older history is prepended', () => {
    const before = buildTimeline({ messages: [m(5), m(6)], pending: [], dividerAfter: none, me: 'a', now });
    const after = buildTimeline({ messages: [m(3), m(4), m(5), m(6)], pending: [], dividerAfter: none, me: 'a', now });
    expect(after.slice(-2).map((r) => r.key)).toEqual(before.slice(-2).map((r) => r.key));
    expect(after[0].key).toBe('top');
  });

  it('groups by sender within five minutes and breaks groups and days', () => {
    const msgs = [m(1), m(2), m(3, { sender_id: 'b' }), m(4, { sender_id: 'b', created_at: t0 + day }),
                  m(5, { sender_id: 'b', created_at: t0 + day + 6 * 60000 }),
                  m(6, { sender_id: 'b', created_at: t0 + day + 6 * 60000 + 1, reply_to: 'm1' })];
    const rows = msgRows(buildTimeline({ messages: msgs, pending: [], dividerAfter: none, me: 'a', now }));
    expect(rows.map((r) => r.continued)).toEqual([false, true, false, false, false, false]);
    expect(rows.map((r) => r.dayBreak !== null)).toEqual([true, false, false, true, false, false]);
  });

  it('puts the new-messages divider above the first message from someone else after the marker, once', () => {
    const msgs = [m(1, { sender_id: 'b' }), m(2), m(3, { sender_id: 'b' }), m(4, { sender_id: 'b' })];
    const rows = msgRows(buildTimeline({ messages: msgs, pending: [], dividerAfter: 1, me: 'a', now }));
    expect(rows.map((r) => r.divider)).toEqual([false, false, true, false]);
    // The message under the divider starts a new group even from the same sender.
    expect(rows[2].continued).toBe(false);
    expect(rows[3].continued).toBe(true);
  });

  it('draws pending sends after the messages until their echo arrives', () => {
    const echoed = m(3, { client_txn_id: 'tx1' });
    const rows = buildTimeline({ messages: [m(1), echoed], pending: [p('tx1'), p('tx2')], dividerAfter: none, me: 'a', now });
    expect(rows.map((r) => r.key)).toEqual(['top', 'm1', 'm3', 'pending:tx2']);
    // Someone else's message with the same transaction id is not our echo.
    const other = buildTimeline({ messages: [m(3, { client_txn_id: 'tx2', sender_id: 'b' })], pending: [p('tx2')],
                                  dividerAfter: none, me: 'a', now });
    expect(other.map((r) => r.key)).toEqual(['top', 'm3', 'pending:tx2']);
  });

  it('builds 10,000 rows with a day separator per day', () => {
    const msgs = Array.from({ length: 10000 }, (_, i) => m(i + 1, { created_at: t0 + i * 600000 }));
    const rows = msgRows(buildTimeline({ messages: msgs, pending: [], dividerAfter: none, me: 'a', now }));
    expect(rows).toHaveLength(10000);
    // 600 s apart: 144 a day; every break is where the calendar day changes.
    const breaks = rows.filter((r) => r.dayBreak !== null).length;
    const days = new Set(msgs.map((x) => new Date(x.created_at).toDateString())).size;
    expect(breaks).toBe(days);
  });
});

describe('estimateRowSize', () => {
  it('guesses taller rows for headers, separators and long bodies', () => {
    const [, first, second] = buildTimeline({ messages: [m(1), m(2)], pending: [], dividerAfter: none, me: 'x', now });
    expect(estimateRowSize(first)).toBeGreaterThan(estimateRowSize(second));
    const long = buildTimeline({ messages: [m(1), m(2, { body: 'y'.repeat(900) })], pending: [], dividerAfter: none, me: 'x', now })[2];
    expect(estimateRowSize(long)).toBeGreaterThan(estimateRowSize(second) + 100);
  });
});

describe('indexOfMessage and navTarget', () => {
  const rows = buildTimeline({ messages: [m(1), m(2), m(3)], pending: [p('t')], dividerAfter: none, me: 'a', now });
  it('finds a message row, or -1', () => {
    expect(indexOfMessage(rows, 'm2')).toBe(2);
    expect(indexOfMessage(rows, 'nope')).toBe(-1);
  });
  it('moves between message rows and never onto the top row', () => {
    expect(navTarget(rows, 2, 'ArrowUp')).toBe(1);
    expect(navTarget(rows, 1, 'ArrowUp')).toBeNull();
    expect(navTarget(rows, 2, 'ArrowDown')).toBe(3);
    expect(navTarget(rows, 4, 'ArrowDown')).toBeNull();
    expect(navTarget(rows, 3, 'Home')).toBe(1);
    expect(navTarget(rows, 1, 'End')).toBe(4);
  });
});

describe('countNewerThan and jumpLabel', () => {
  it('counts messages from others after the last one seen', () => {
    const msgs = [m(1), m(2, { sender_id: 'b' }), m(3, { sender_id: 'b' }), m(4), m(5, { sender_id: 'c' })];
    expect(countNewerThan(msgs, 2, 'a')).toBe(2);
    expect(countNewerThan(msgs, 5, 'a')).toBe(0);
    expect(countNewerThan(msgs, 0, 'a')).toBe(3);
  });
  it('says how many are new, or offers the latest', () => {
    expect(jumpLabel(0)).toBe('Jump to latest');
    expect(jumpLabel(1)).toBe('1 new message');
    expect(jumpLabel(7)).toBe('7 new messages');
    expect(jumpLabel(250)).toBe('99+ new messages');
  });
});
