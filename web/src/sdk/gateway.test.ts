import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';
import { Gateway, type NetworkStatus, type SocketLike, type Timers } from './gateway';
import type { Message, RoomEvent, RoomSummary } from './types';

class FakeSocket implements SocketLike {
  readyState = 1;
  sent: Array<{ op: string; id?: string; d?: Record<string, unknown> }> = [];
  closed: number | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send(data: string) { this.sent.push(JSON.parse(data)); }
  close(code = 1000) { this.closed = code; this.readyState = 3; }
  recv(op: string, d: unknown = {}, re?: string) { this.onmessage?.({ data: JSON.stringify({ op, d, re }) }); }
  serverClose(code: number) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
  ops() { return this.sent.map((f) => f.op); }
}

class FakeTimers implements Timers {
  t = 1000;
  private q: Array<{ at: number; fn: () => void; id: number }> = [];
  private n = 0;
  setTimeout(fn: () => void, ms: number) { const id = ++this.n; this.q.push({ at: this.t + ms, fn, id }); return id; }
  clearTimeout(h: unknown) { this.q = this.q.filter((x) => x.id !== h); }
  now() { return this.t; }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at);
      const next = this.q[0];
      if (!next || next.at > end) break;
      this.q.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

class FakeNetwork implements NetworkStatus {
  up = true;
  cbs = new Set<(o: boolean) => void>();
  online() { return this.up; }
  subscribe(cb: (o: boolean) => void) { this.cbs.add(cb); return () => this.cbs.delete(cb); }
  set(o: boolean) { this.up = o; for (const c of this.cbs) c(o); }
}

function msg(room: string, seq: number, extra: Partial<Message> = {}): Message {
  return { id: `m${seq}`, room_id: room, seq, sender_id: 'u1', client_txn_id: null, body: `b${seq}`, reply_to: null,
           created_at: 0, edited_at: null, deleted_at: null, ...extra };
}
function created(room: string, seq: number, extra: Partial<Message> = {}): RoomEvent {
  return { type: 'message.created', room_id: room, seq, actor_id: 'u1', created_at: 0, message: msg(room, seq, extra) };
}
function summary(id: string, last_seq: number): RoomSummary {
  return { room: { id, kind: 'group', name: id, topic: '', created_by: 'u1', created_at: 0, last_seq },
           role: 'member', last_read_seq: 0, unread: 0, last_message: null, dm_peer_id: null };
}
const user = { id: 'u1', username: 'a', display_name: 'A', role: 'user' as const, status: 'active' as const, created_at: 0 };

function setup() {
  const sockets: FakeSocket[] = [];
  const timers = new FakeTimers();
  const network = new FakeNetwork();
  const gw = new Gateway({
    url: 'ws://x/api/v1/gateway',
    fetchEventsAfter: async () => [],
    createSocket: () => { const s = new FakeSocket(); sockets.push(s); return s; },
    timers, network, backoff: new Backoff({ random: () => 0.5 }),
  });
  const events: RoomEvent[] = [];
  gw.on('event', (e) => events.push(e));
  const last = () => sockets[sockets.length - 1];
  const handshake = (rooms: RoomSummary[], epoch = 'e1') => {
    last().recv('hello', { heartbeat_ms: 30000, protocol: 1 });
    last().recv('ready', { user, session_id: 's', epoch, rooms, presence: {} }, 'identify');
  };
  return { gw, sockets, timers, network, events, last, handshake };
}

describe('Gateway', () => {
  it('identifies, then resumes with the highest seq it holds per room', () => {
    const { gw, sockets, last, handshake, events } = setup();
    gw.start();
    handshake([summary('r1', 5), summary('r2', 0)]);
    expect(last().sent[0]).toEqual({ op: 'identify', id: 'identify', d: { protocol: 1, subscribe: ['presence', 'typing'] } });
    expect(gw.state.value).toBe('connected');
    last().recv('message.created', created('r1', 6));
    last().recv('message.created', created('r2', 1));
    last().serverClose(4010);                       // slow consumer: reconnect and resume
    expect(gw.state.value).toBe('waiting');
    (gw as unknown as { timers: FakeTimers }).timers.advance(1000);
    expect(sockets).toHaveLength(2);
    last().recv('hello', { heartbeat_ms: 30000 });
    expect(last().sent[0].d).toEqual({ protocol: 1, subscribe: ['presence', 'typing'], resume: { epoch: 'e1', rooms: { r1: 6, r2: 1 } } });
    last().recv('ready', { user, session_id: 's', epoch: 'e1', rooms: [summary('r1', 7), summary('r2', 1)], presence: {} });
    last().recv('message.created', created('r1', 6));   // overlap: dropped
    last().recv('message.created', created('r1', 7));
    expect(events.map((e) => `${e.room_id}:${e.seq}`)).toEqual(['r1:6', 'r2:1', 'r1:7']);
  });

  it('passes receipts, typing, presence and read markers on, and sends the ephemeral ops only when identified', () => {
    const { gw, handshake, last, events } = setup();
    const seen: string[] = [];
    gw.on('receipt', (r) => seen.push(`receipt ${r.room_id} ${r.delivered_seq}/${r.read_seq}`));
    gw.on('typing', (t) => seen.push(`typing ${t.user_id} ${t.typing}`));
    gw.on('presence', (p) => seen.push(`presence ${p.users.u2.status}`));
    gw.on('readUpdated', (r) => seen.push(`read ${r.room_id} ${r.last_read_seq} ${r.unread}`));
    gw.start();
    expect(gw.typing('r1', true)).toBe(false);      // before ready: nothing is written
    handshake([summary('r1', 5)]);
    last().recv('receipt', { room_id: 'r1', user_id: 'u2', delivered_seq: 5, read_seq: 4 });
    last().recv('typing', { room_id: 'r1', user_id: 'u2', typing: true, expires_in_ms: 6000 });
    last().recv('presence', { room_id: 'r1', users: { u2: { status: 'away', last_seen: null } } });
    last().recv('read.updated', { room_id: 'r1', last_read_seq: 5, delivered_seq: 5, unread: 0 });
    last().recv('ok', {});
    expect(seen).toEqual(['receipt r1 5/4', 'typing u2 true', 'presence away', 'read r1 5 0']);
    expect(events).toEqual([]);                      // none of them is a room event or a seq
    expect(gw.typing('r1', true)).toBe(true);
    expect(gw.read('r1', 5)).toBe(true);
    expect(gw.delivered('r1', 5)).toBe(true);
    expect(last().sent.slice(1)).toEqual([
      { op: 'typing', d: { room_id: 'r1' } },
      { op: 'read', d: { room_id: 'r1', seq: 5 } },
      { op: 'delivered', d: { room_id: 'r1', seq: 5 } },
    ]);
  });

  it('counts reaction events as room events, so the next message is not a gap', () => {
    const { gw, handshake, last, events } = setup();
    gw.start();
    handshake([summary('r1', 5)]);
    last().recv('reaction.added', {
      type: 'reaction.added', room_id: 'r1', seq: 6, actor_id: 'u1', created_at: 0,
      message_id: 'm5', user_id: 'u1', emoji: '👍', count: 1,
    });
    last().recv('message.created', created('r1', 7));
    expect(events.map((e) => `${e.type}:${e.seq}`)).toEqual(['reaction.added:6', 'message.created:7']);
  });

  it('backs off exponentially between failed attempts and resets after ready', () => {
    const { gw, sockets, timers, last, handshake } = setup();
    gw.start();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      last().serverClose(1006);
      delays.push(gw.retryAt! - timers.now());
      timers.advance(delays[i]);
    }
    expect(delays).toEqual([375, 750, 1500, 3000]);
    expect(sockets).toHaveLength(5);
    handshake([]);
    last().serverClose(1012);
    expect(gw.retryAt! - timers.now()).toBe(375);
  });

  it('stops for good on a final close code', () => {
    const { gw, sockets, timers, last, handshake } = setup();
    const ended: number[] = [];
    gw.on('ended', (c) => ended.push(c));
    gw.start();
    handshake([]);
    last().serverClose(4500);
    timers.advance(120000);
    expect(gw.state.value).toBe('ended');
    expect(ended).toEqual([4500]);
    expect(sockets).toHaveLength(1);
  });

  it('queues sends while offline and sends each exactly once when back', () => {
    const { gw, sockets, network, last, handshake } = setup();
    gw.start();
    handshake([summary('r', 0)]);
    network.set(false);
    expect(gw.state.value).toBe('offline');
    expect(sockets[0].closed).toBe(1000);
    const a = gw.send('r', 'first');
    const b = gw.send('r', 'second', 'm9');
    expect(gw.outbox.size).toBe(2);
    network.set(true);                               // reconnects at once, no backoff wait
    expect(sockets).toHaveLength(2);
    handshake([summary('r', 0)]);
    const sends = () => last().sent.filter((f) => f.op === 'send').map((f) => f.d);
    expect(sends()).toEqual([{ room_id: 'r', client_txn_id: a.client_txn_id, body: 'first' }]);
    // The echo settles the first and lets the second go; its ack settles it.
    last().recv('message.created', created('r', 1, { client_txn_id: a.client_txn_id }));
    expect(sends()).toEqual([
      { room_id: 'r', client_txn_id: a.client_txn_id, body: 'first' },
      { room_id: 'r', client_txn_id: b.client_txn_id, body: 'second', reply_to: 'm9' },
    ]);
    last().recv('ack', { message_id: 'm1', room_id: 'r', seq: 1, duplicate: false }, `s:${a.client_txn_id}`);
    last().recv('ack', { message_id: 'm2', room_id: 'r', seq: 2, duplicate: false }, `s:${b.client_txn_id}`);
    expect(sends()).toHaveLength(2);
    expect(gw.outbox.size).toBe(0);
  });

  it('sends the ids of a message\'s attachments, kept on the pending entry for an optimistic view', () => {
    const { gw, last, handshake } = setup();
    gw.start();
    handshake([summary('r', 0)]);
    const att = (id: string) => ({ id, name: `${id}.png`, mime: 'image/png', kind: 'image' as const, size: 1, sha256: '',
                                   width: 1, height: 1, url: `/a/${id}`, thumbnail_url: null, preview_url: null });
    const e = gw.send('r', '', null, [att('a1'), att('a2')]);
    expect(e.attachments.map((a) => a.id)).toEqual(['a1', 'a2']);
    const sent = last().sent.filter((f) => f.op === 'send').map((f) => f.d);
    expect(sent).toEqual([{ room_id: 'r', client_txn_id: e.client_txn_id, body: '', attachments: ['a1', 'a2'] }]);
  });

  it('resends unacknowledged sends with the same client_txn_id after a drop', () => {
    const { gw, timers, last, handshake } = setup();
    gw.start();
    handshake([summary('r', 0)]);
    const e = gw.send('r', 'hi');
    expect(last().ops()).toContain('send');
    last().serverClose(1006);                        // ack lost
    timers.advance(1000);
    handshake([summary('r', 1)]);
    const resent = last().sent.filter((f) => f.op === 'send');
    expect(resent).toHaveLength(1);
    expect(resent[0].d?.client_txn_id).toBe(e.client_txn_id);
  });

  it('retries a rate-limited send after the server hint, fails others visibly', () => {
    const { gw, timers, last, handshake } = setup();
    gw.start();
    handshake([summary('r', 0)]);
    const a = gw.send('r', 'a');
    const b = gw.send('r2', 'b');
    last().recv('error', { code: 'rate_limited', message: 'slow down', retry_after_ms: 2000 }, `s:${a.client_txn_id}`);
    last().recv('error', { code: 'too_large', message: 'too big' }, `s:${b.client_txn_id}`);
    expect(gw.outbox.get(b.client_txn_id)?.state).toBe('failed');
    expect(gw.outbox.get(b.client_txn_id)?.error?.code).toBe('too_large');
    const before = last().sent.length;
    timers.advance(1999);
    expect(last().sent.length).toBe(before);
    timers.advance(1);
    expect(last().sent.slice(before).map((f) => f.d?.client_txn_id)).toEqual([a.client_txn_id]);
  });

  it('replaces a connection that has gone silent', () => {
    const { gw, sockets, timers, handshake } = setup();
    gw.start();
    handshake([]);
    timers.advance(15000);
    expect(sockets[0].ops()).toContain('ping');
    timers.advance(45000);                           // 60 s silent: not yet over 2 x heartbeat
    expect(sockets[0].closed).toBeNull();
    timers.advance(15000);                           // now silent for more than 2 x heartbeat
    expect(sockets[0].closed).toBe(4009);
    expect(gw.state.value).toBe('waiting');
    timers.advance(1000);
    expect(sockets).toHaveLength(2);
  });

  it('starts new rooms at their snapshot seq and handles room.reset', () => {
    const { gw, last, handshake, events } = setup();
    const resets: string[] = [];
    gw.on('roomReset', (r, s) => resets.push(`${r}:${s}`));
    gw.start();
    handshake([]);
    last().recv('room.joined', { room: summary('n', 3) });
    last().recv('message.created', created('n', 4));
    last().recv('room.reset', { room_id: 'n', last_seq: 40 });
    last().recv('message.created', created('n', 41));
    expect(events.map((e) => e.seq)).toEqual([4, 41]);
    expect(resets).toEqual(['n:40']);
  });
});
