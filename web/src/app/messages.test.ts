import { describe, expect, it } from 'vitest';
import type { Message } from '../sdk';
import { applyReaction, lastSeenText, layoutRows, mergeMessages, tickFor } from './messages';

const day = 86400000;
const t0 = new Date(2025, 5, 10, 12, 0).getTime();
function m(seq: number, extra: Partial<Message> = {}): Message {
  return { id: `m${seq}`, room_id: 'r', seq, sender_id: 'a', client_txn_id: null, body: `b${seq}`, reply_to: null,
           created_at: t0 + seq * 1000, edited_at: null, deleted_at: null, ...extra };
}

describe('mergeMessages', () => {
  it('merges an older history page with live events, once each, in seq order', () => {
    const live = [m(9), m(10)];
    const page = [m(7), m(8), m(9)];
    expect(mergeMessages(live, page).map((x) => x.seq)).toEqual([7, 8, 9, 10]);
  });

  it('keeps the edit or tombstone even when a stale copy arrives later', () => {
    const edited = m(3, { body: 'fixed', edited_at: t0 + 9999 });
    const deleted = m(4, { body: '', deleted_at: t0 + 9999 });
    const out = mergeMessages([edited, deleted], [m(3), m(4)]);
    expect(out.map((x) => x.body)).toEqual(['fixed', '']);
    expect(out[1].deleted_at).not.toBeNull();
  });
});

describe('layoutRows', () => {
  it('groups consecutive messages by sender and breaks by day', () => {
    const msgs = [m(1), m(2), m(3, { sender_id: 'b' }), m(4, { sender_id: 'b', created_at: t0 + day })];
    const rows = layoutRows(msgs, t0 + day);
    expect(rows.map((r) => r.continued)).toEqual([false, true, false, false]);
    expect(rows.map((r) => r.dayBreak)).toEqual([expect.any(String), null, null, 'Today']);
    expect(rows[0].dayBreak).toBe('Yesterday');
  });

  it('starts a new group after a pause or for a reply', () => {
    const rows = layoutRows([m(1), m(2, { created_at: t0 + 10 * 60000 }), m(3, { created_at: t0 + 10 * 60000 + 1, reply_to: 'm1' })]);
    expect(rows.map((r) => r.continued)).toEqual([false, false, false]);
  });
});

describe('receipts, reactions and presence helpers', () => {
  it('ticks: read beats delivered beats sent', () => {
    expect(tickFor(5, 4, 0)).toBe('sent');
    expect(tickFor(5, 5, 0)).toBe('delivered');
    expect(tickFor(5, 9, 5)).toBe('read');
    expect(tickFor(6, 9, 5)).toBe('delivered');   // read up to 5 only
  });

  it('applies reaction counts from events: new emoji appended, zero removes', () => {
    const one = { ...m(1), reactions: [{ emoji: '👍', count: 1 }] };
    const two = applyReaction(one, '👍', 2);
    expect(two.reactions).toEqual([{ emoji: '👍', count: 2 }]);
    const more = applyReaction(two, '🎉', 1);
    expect(more.reactions).toEqual([{ emoji: '👍', count: 2 }, { emoji: '🎉', count: 1 }]);
    expect(applyReaction(more, '👍', 0).reactions).toEqual([{ emoji: '🎉', count: 1 }]);
    expect(one.reactions).toEqual([{ emoji: '👍', count: 1 }]);   // not mutated
  });

  it('keeps known reaction counts when an event copy (reactions: []) of the message arrives', () => {
    const held = { ...m(1), reactions: [{ emoji: '👍', count: 3 }] };
    const edited = { ...m(1), body: 'new', edited_at: 5, reactions: [] };
    const merged = mergeMessages([held], [edited]);
    expect(merged[0].body).toBe('new');
    expect(merged[0].reactions).toEqual([{ emoji: '👍', count: 3 }]);
  });

  it('says when an offline user was last seen', () => {
    const now = new Date(2026, 10, 29, 15, 0).getTime();
    expect(lastSeenText(null, now)).toBe('Offline');
    expect(lastSeenText(now - 20_000, now)).toBe('Last seen just now');
    expect(lastSeenText(now - 25 * 60_000, now)).toBe('Last seen 25 min ago');
    expect(lastSeenText(now - 3 * 3600_000, now)).toMatch(/^Last seen today at /);
    expect(lastSeenText(now - 20 * 3600_000, now)).toMatch(/^Last seen yesterday at /);
  });
});
