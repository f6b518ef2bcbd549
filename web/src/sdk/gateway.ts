// sdk/gateway.ts: Gateway, the real-time connection (docs/protocol.md, "The gateway").
//
// One WebSocket at a time. hello → identify (with resume when we hold an epoch) → ready →
// events. It owns:
//  - reconnection with exponential backoff and jitter (Backoff); final close codes
//    (4004, 4500, 4501, 4502) stop it and emit `ended` (the app shows the sign-in screen);
//  - resume bookkeeping (RoomSync): per-room seq cursors, duplicate drop, gap repair;
//  - the Outbox: `send()` is optimistic, works offline, and is flushed on every `ready`;
//  - heartbeats: a ping every heartbeat_ms/2; a connection silent for 2×heartbeat_ms is
//    considered dead and replaced;
//  - the browser's online/offline signal: offline closes the socket at once (and the outbox
//    keeps messages), online reconnects without waiting for the backoff.
// The `state` observable is the connection indicator.
//
// Threading: single-threaded (browser main thread). Everything time- or network-related is
// injectable (WebSocket constructor, timers, network status) for unit tests.
import { Backoff } from './backoff';
import { ParleyError, toErrorCode } from './errors';
import { Emitter, Observable } from './observable';
import { Outbox, type PendingSend } from './outbox';
import { RoomSync } from './room_sync';
import {
  kRoomEventTypes, type Ack, type Attachment, type Id, type PresenceFrame, type ReadState, type Ready, type Receipt, type RoomEvent,
  type RoomSummary, type TypingFrame,
} from './types';

export type ConnectionState =
  | 'idle'          // not started
  | 'connecting'    // socket opening / identifying
  | 'connected'     // ready received
  | 'waiting'       // disconnected, a reconnect is scheduled (see `retryAt`)
  | 'offline'       // the browser says there is no network
  | 'ended';        // final close (session revoked, bad token, ...) or stop()

/** Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes"). */
export const kFinalCloseCodes: ReadonlySet<number> = new Set([4004, 4500, 4501, 4502]);

export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface NetworkStatus {
  online(): boolean;
  subscribe(cb: (online: boolean) => void): () => void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
  now(): number;
}

export interface GatewayOptions {
  url: string;
  token?: string | null;
  fetchEventsAfter: (room: Id, afterSeq: number) => Promise<RoomEvent[]>;
  createSocket?: (url: string) => SocketLike;
  timers?: Timers;
  network?: NetworkStatus;
  backoff?: Backoff;
  outbox?: Outbox;
}

export interface GatewayEvents {
  /** Every `ready`. `resumed` is true when the server replays from our cursors. */
  ready: (r: Ready, resumed: boolean) => void;
  /** A durable room event, exactly once and in seq order per room. */
  event: (ev: RoomEvent) => void;
  roomJoined: (s: RoomSummary) => void;
  /** The client must refetch this room's history (server room.reset or unrepairable gap). */
  roomReset: (room: Id, lastSeq: number) => void;
  /** An ack for one of our sends. */
  ack: (a: Ack, pending: PendingSend | undefined) => void;
  /** Your read marker moved (any of your sessions, or REST). */
  readUpdated: (r: ReadState) => void;
  /** A DM member's delivered/read positions changed. */
  receipt: (r: Receipt) => void;
  typing: (t: TypingFrame) => void;
  presence: (p: PresenceFrame) => void;
  /** The session is over (final close code); the app should sign in again. */
  ended: (code: number, reason: string) => void;
}

const browserTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

const browserNetwork: NetworkStatus = {
  online: () => typeof navigator === 'undefined' || navigator.onLine !== false,
  subscribe: (cb) => {
    if (typeof window === 'undefined') return () => {};
    const on = () => cb(true);
    const off = () => cb(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => { window.removeEventListener('online', on); window.removeEventListener('offline', off); };
  },
};

export class Gateway extends Emitter<GatewayEvents> {
  readonly state = new Observable<ConnectionState>('idle');
  /** When state is 'waiting': the time (ms) of the next attempt. */
  retryAt: number | null = null;
  readonly outbox: Outbox;
  readonly sync: RoomSync;
  epoch: string | null = null;
  lastClose: { code: number; reason: string } | null = null;

  private ws: SocketLike | null = null;
  private readonly timers: Timers;
  private readonly network: NetworkStatus;
  private readonly backoff: Backoff;
  private readonly createSocket: (url: string) => SocketLike;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private heartbeatMs = 30000;
  private lastFrameAt = 0;
  private pingSeq = 0;
  private identified = false;
  private unsubscribeNetwork: (() => void) | null = null;

  constructor(private readonly opts: GatewayOptions) {
    super();
    this.timers = opts.timers ?? browserTimers;
    this.network = opts.network ?? browserNetwork;
    this.backoff = opts.backoff ?? new Backoff();
    this.outbox = opts.outbox ?? new Outbox();
    this.createSocket = opts.createSocket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
    this.sync = new RoomSync({
      fetchAfter: opts.fetchEventsAfter,
      apply: (ev) => this.applyEvent(ev),
      onReset: (room, seq) => this.emit('roomReset', room, seq),
    });
  }

  start(): void {
    if (this.state.value !== 'idle' && this.state.value !== 'ended') return;
    this.unsubscribeNetwork = this.network.subscribe((online) => this.onNetwork(online));
    this.connectNow();
  }

  /** Closes for good (sign-out). Pending sends stay in the outbox. */
  stop(): void {
    this.unsubscribeNetwork?.();
    this.unsubscribeNetwork = null;
    this.clearTimers();
    this.dropSocket(1000, 'client stop');
    this.state.set('ended');
  }

  /** Skips the backoff wait (a "retry now" button, or the tab becoming visible). */
  retryNow(): void {
    if (this.state.value === 'waiting') {
      this.backoff.reset();
      this.connectNow();
    }
  }

  /**
   * Queues a message and sends it at once when connected. Returns the pending entry; its
   * client_txn_id matches the ack and the message.created echo. `attachments` are uploads
   * (RestClient.upload) the message carries, at most 10.
   */
  send(room: Id, body: string, replyTo: Id | null = null, attachments: readonly Attachment[] = []): PendingSend {
    const entry = this.outbox.add(room, body, replyTo, undefined, attachments);
    this.flush();
    return entry;
  }

  /** Re-queues a failed send and flushes. */
  resend(txn: string): void {
    this.outbox.retry(txn);
    this.flush();
  }

  // --- ephemeral ops (dropped while disconnected: they describe the moment, not history)

  /** Moves the read marker (no seq: up to the room's last_seq). */
  read(room: Id, seq?: number): boolean {
    return this.identified && this.write({ op: 'read', d: seq === undefined ? { room_id: room } : { room_id: room, seq } });
  }

  /** Acknowledges the highest seq held in a room. */
  delivered(room: Id, seq: number): boolean {
    return this.identified && this.write({ op: 'delivered', d: { room_id: room, seq } });
  }

  typing(room: Id, typing: boolean): boolean {
    return this.identified && this.write({ op: 'typing', d: typing ? { room_id: room } : { room_id: room, typing: false } });
  }

  presence(status: 'online' | 'away'): boolean {
    return this.identified && this.write({ op: 'presence', d: { status } });
  }

  setInvisible(invisible: boolean): boolean {
    return this.identified && this.write({ op: 'presence', d: { invisible } });
  }

  // --- connection

  private connectNow(): void {
    this.clearTimers();
    if (!this.network.online()) {
      this.state.set('offline');
      return;
    }
    this.identified = false;
    this.state.set('connecting');
    let ws: SocketLike;
    try {
      ws = this.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.lastFrameAt = this.timers.now();
    ws.onmessage = (ev) => { if (this.ws === ws) this.onFrame(ev.data); };
    ws.onclose = (ev) => { if (this.ws === ws) this.onClose(ev.code, ev.reason); };
    ws.onerror = () => {}; // onclose follows
  }

  private onClose(code: number, reason: string): void {
    this.ws = null;
    this.identified = false;
    this.lastClose = { code, reason };
    this.clearTimers();
    this.outbox.requeueSending();
    if (kFinalCloseCodes.has(code)) {
      this.state.set('ended');
      this.emit('ended', code, reason);
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(minMs = 0): void {
    if (!this.network.online()) {
      this.state.set('offline');
      return;
    }
    const delay = this.backoff.nextAtLeast(minMs);
    this.retryAt = this.timers.now() + delay;
    this.state.set('waiting');
    this.retryTimer = this.timers.setTimeout(() => { this.retryTimer = null; this.connectNow(); }, delay);
  }

  private onNetwork(online: boolean): void {
    if (this.state.value === 'ended' || this.state.value === 'idle') return;
    if (!online) {
      this.clearTimers();
      this.dropSocket(1000, 'offline');
      this.outbox.requeueSending();
      this.state.set('offline');
    } else if (this.state.value === 'offline' || this.state.value === 'waiting') {
      this.backoff.reset();
      this.connectNow();
    }
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.identified = false;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try { ws.close(code, reason); } catch { /* already closed */ }
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.pingTimer !== null) this.timers.clearTimeout(this.pingTimer);
    this.retryTimer = this.pingTimer = null;
    this.retryAt = null;
  }

  private write(frame: object): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private heartbeat(): void {
    this.pingTimer = null;
    if (!this.ws) return;
    if (this.timers.now() - this.lastFrameAt > 2 * this.heartbeatMs) {
      // Silent for too long: the connection is dead even if the socket has not noticed.
      this.dropSocket(4009, 'heartbeat timeout');
      this.onClose(4009, 'heartbeat timeout');
      return;
    }
    this.write({ op: 'ping', id: `p${++this.pingSeq}` });
    this.pingTimer = this.timers.setTimeout(() => this.heartbeat(), this.heartbeatMs / 2);
  }

  // --- frames

  private onFrame(data: unknown): void {
    this.lastFrameAt = this.timers.now();
    if (typeof data !== 'string') return;
    let f: { op?: unknown; re?: unknown; d?: Record<string, unknown> };
    try { f = JSON.parse(data); } catch { return; }
    const d = (f.d ?? {}) as Record<string, unknown>;
    switch (f.op) {
      case 'hello': return this.onHello(d);
      case 'ready': return this.onReady(d as unknown as Ready);
      case 'pong': return;
      case 'ack': return this.onAck(d as unknown as Ack, f.re);
      case 'error': return this.onError(d, f.re);
      case 'room.joined': return this.onRoomJoined((d as { room: RoomSummary }).room);
      case 'room.reset': {
        const room = String(d.room_id);
        const seq = Number(d.last_seq);
        this.sync.set(room, seq);
        this.emit('roomReset', room, seq);
        return;
      }
      case 'read.updated': return this.emit('readUpdated', d as unknown as ReadState);
      case 'receipt': return this.emit('receipt', d as unknown as Receipt);
      case 'typing': return this.emit('typing', d as unknown as TypingFrame);
      case 'presence': return this.emit('presence', d as unknown as PresenceFrame);
      case 'ok': return;
      default:
        if (typeof f.op === 'string' && kRoomEventTypes.has(f.op)) {
          this.sync.receive(d as unknown as RoomEvent);
        }
    }
  }

  private onHello(d: Record<string, unknown>): void {
    if (typeof d.heartbeat_ms === 'number' && d.heartbeat_ms > 0) this.heartbeatMs = d.heartbeat_ms;
    const identify: Record<string, unknown> = { protocol: 1, subscribe: ['presence', 'typing'] };
    if (this.opts.token) identify.token = this.opts.token;
    if (this.epoch !== null && this.sync.rooms().length > 0) {
      identify.resume = { epoch: this.epoch, rooms: this.sync.resumeState() };
    }
    this.write({ op: 'identify', id: 'identify', d: identify });
    this.pingTimer = this.timers.setTimeout(() => this.heartbeat(), this.heartbeatMs / 2);
  }

  private onReady(r: Ready): void {
    const resumed = this.epoch !== null && this.epoch === r.epoch;
    const known = new Set(r.rooms.map((s) => s.room.id));
    for (const room of this.sync.rooms()) if (!known.has(room)) this.sync.forget(room);
    for (const s of r.rooms) {
      // Rooms we resume keep our cursor (the server replays after it); others start at the
      // snapshot. A different epoch means the server will reset resumed rooms anyway.
      if (!resumed || !this.sync.has(s.room.id)) this.sync.set(s.room.id, s.room.last_seq);
    }
    this.epoch = r.epoch;
    this.identified = true;
    this.backoff.reset();
    this.state.set('connected');
    this.emit('ready', r, resumed);
    this.flush();
  }

  private onRoomJoined(s: RoomSummary): void {
    this.sync.set(s.room.id, s.room.last_seq);
    this.emit('roomJoined', s);
  }

  private applyEvent(ev: RoomEvent): void {
    if (ev.type === 'message.created' && ev.message.client_txn_id) {
      // Our own echo (any of our sessions) settles the optimistic copy.
      if (this.outbox.resolve(ev.message.client_txn_id)) this.flush();
    }
    this.emit('event', ev);
  }

  private onAck(a: Ack, re: unknown): void {
    const txn = typeof re === 'string' && re.startsWith('s:') ? re.slice(2) : null;
    const pending = txn ? this.outbox.get(txn) : undefined;
    if (txn) this.outbox.resolve(txn);
    this.emit('ack', a, pending);
    this.flush();
  }

  private onError(d: Record<string, unknown>, re: unknown): void {
    if (typeof re !== 'string' || !re.startsWith('s:')) return;
    const txn = re.slice(2);
    const err = new ParleyError(toErrorCode(d.code, 0), String(d.message ?? 'send failed'), {
      retryAfterMs: typeof d.retry_after_ms === 'number' ? d.retry_after_ms : null,
    });
    if (err.code === 'rate_limited' || err.code === 'unavailable') {
      // Transient: back in the queue, flushed again after the server's hint.
      const wait = err.retryAfterMs ?? 1000;
      this.outbox.retry(txn, this.timers.now() + wait);
      this.timers.setTimeout(() => this.flush(), wait);
      return;
    }
    this.outbox.fail(txn, err);
    this.flush();
  }

  private flush(): void {
    if (!this.identified) return;
    for (const e of this.outbox.takeQueued(this.timers.now())) {
      const d: Record<string, unknown> = { room_id: e.room_id, client_txn_id: e.client_txn_id, body: e.body };
      if (e.reply_to) d.reply_to = e.reply_to;
      if (e.attachments.length) d.attachments = e.attachments.map((a) => a.id);
      if (!this.write({ op: 'send', id: `s:${e.client_txn_id}`, d })) {
        this.outbox.requeueSending();
        return;
      }
    }
  }
}

/** The gateway URL for a page served by Parley: ws(s)://<host>/api/v1/gateway. */
export function gatewayUrl(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/v1/gateway`;
}
