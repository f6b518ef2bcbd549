import { describe, expect, it } from 'vitest';
import type { Message, User } from '../sdk';
import { AppStore, mentionsUser, tabTitle } from './store';

const me: User = { id: 'u1', username: 'ann.lee', display_name: 'Ann', role: 'user', status: 'active', created_at: 0 };
function msg(body: string, extra: Record<string, unknown> = {}): Message {
  return { id: 'm', room_id: 'r', seq: 1, sender_id: 'u2', client_txn_id: null, body, reply_to: null,
           created_at: 0, edited_at: null, deleted_at: null, ...extra } as Message;
}

describe('mentionsUser', () => {
  it('uses the server mentions list when the message has one', () => {
    expect(mentionsUser(msg('hi', { mentions: ['u1'] }), me)).toBe(true);
    expect(mentionsUser(msg('@ann.lee', { mentions: [] }), me)).toBe(false);
    expect(mentionsUser(msg('hi', { mentions: [{ user_id: 'u1' }] }), me)).toBe(true);
  });

  it('reads the server shape: by name, @room and @here count, others do not', () => {
    expect(mentionsUser(msg('hi @ann.lee', { mentions: { user_ids: ['u1'], room: false, here: false } }), me)).toBe(true);
    expect(mentionsUser(msg('@room', { mentions: { user_ids: [], room: true, here: false } }), me)).toBe(true);
    expect(mentionsUser(msg('@here', { mentions: { user_ids: [], room: false, here: true } }), me)).toBe(true);
    expect(mentionsUser(msg('`@ann.lee`', { mentions: { user_ids: ['u9'], room: false, here: false } }), me)).toBe(false);
  });

  it('otherwise finds @username as a whole word, case-insensitively', () => {
    expect(mentionsUser(msg('@ann.lee can you look?'), me)).toBe(true);
    expect(mentionsUser(msg('ping @Ann.Lee.'), me)).toBe(true);
    expect(mentionsUser(msg('@ann.leex'), me)).toBe(false);
    expect(mentionsUser(msg('mail ann.lee@example.com'), me)).toBe(false);
    expect(mentionsUser(msg('@annXlee'), me)).toBe(false);
  });
});

describe('tabTitle', () => {
  it('puts unread mentions first, then rooms with unread messages', () => {
    expect(tabTitle(0, 0)).toBe('Parley');
    expect(tabTitle(3, 0)).toBe('(3) Parley');
    expect(tabTitle(3, 2)).toBe('@2 (3) Parley');
  });
});

describe('AppStore.jumpTo', () => {
  const room = 'r1';
  const m = (seq: number): Message => msg(`m${seq}`, { id: `m${seq}`, room_id: room, seq });
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => m(a + i));
  const created = (seq: number) => ({ type: 'message.created', room_id: room, seq, actor_id: 'u2', created_at: 0, message: m(seq) });

  function storeWith(history: (q: { around?: string; after?: string; before?: string }) => Promise<unknown>) {
    const store = new AppStore();
    store.me.value = me;
    store.rooms.value = new Map([[room, {
      room: { id: room, kind: 'group', name: 'ops', topic: '', created_by: 'u2', created_at: 0, last_seq: 200 },
      role: 'member', last_read_seq: 200, unread: 0, last_message: null, dm_peer_id: null,
    }]]);
    (store.rest as unknown as { history: unknown }).history = (_room: string, q: object) => history(q);
    return store;
  }
  const seqs = (store: AppStore) => store.conv(room).messages.map((x) => x.seq);
  const live = (store: AppStore, seq: number) => (store as unknown as { onEvent: (e: unknown) => void }).onEvent(created(seq));

  it('opens history around the message, holds live messages, and joins them when scrolled to the end', async () => {
    let store!: AppStore;
    store = storeWith(async (q) => {
      if (q.around) { live(store, 201); return { messages: range(50, 60), has_more_before: true, has_more_after: true }; }
      if (q.after === 'm60') return { messages: range(61, 200), has_more_before: true, has_more_after: false };
      throw new Error(`unexpected ${JSON.stringify(q)}`);
    });
    store.convs.value = new Map([[room, { ...store.conv(room), messages: range(151, 200), loaded: true, hasMoreBefore: true }]]);
    await store.jumpTo(room, 'm55');
    const c = store.conv(room);
    expect(c.focus?.id).toBe('m55');
    expect(c.hasMoreAfter).toBe(true);
    expect(seqs(store)).toEqual(range(50, 60).map((x) => x.seq)); // neither the old window nor the live one
    live(store, 202);
    expect(seqs(store)).not.toContain(202);
    store.focusDone(room);
    expect(store.conv(room).focus).toBeNull();
    await store.loadNewer(room);
    expect(store.conv(room).hasMoreAfter).toBe(false);
    expect(seqs(store)).toEqual(range(50, 202).map((x) => x.seq)); // gap-free, the held ones included
    live(store, 203);
    expect(seqs(store).at(-1)).toBe(203);
  });

  it('a message near the live end is attached at once; one already loaded is only focused', async () => {
    let calls = 0;
    const store = storeWith(async () => { calls++; return { messages: range(190, 200), has_more_before: true, has_more_after: false }; });
    await store.jumpTo(room, 'm195');
    expect(store.conv(room).hasMoreAfter).toBe(false);
    live(store, 201);
    expect(seqs(store).at(-1)).toBe(201);
    await store.jumpTo(room, 'm192');
    expect(calls).toBe(1);
    expect(store.conv(room).focus?.id).toBe('m192');
  });
});
