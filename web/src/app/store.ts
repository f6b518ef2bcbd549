// app/store.ts: AppStore, the web client's state (Preact signals) and the one place that turns
// SDK events into state. Components read signals and call methods; they never talk to the
// REST client or the gateway directly.
//
// Conversation state per opened room: messages ascending by seq, merged from history pages
// and live events in whatever order they land (messages.ts). Pending sends come from the SDK
// outbox and are drawn after the confirmed messages until their echo arrives.
//
// Read markers are not on the server yet (receipts come with a later issue), so "read" is
// remembered locally per browser (localStorage: the room's seq when last viewed) and the
// server's unread count is capped by it. When the server grows read markers, markRead() posts
// them instead.
//
// Threading: browser main thread only.
import { batch, signal } from '@preact/signals';
import {
  Gateway, gatewayUrl, ParleyError, RestClient,
  type ConnectionState, type Id, type Message, type PendingSend, type RoomEvent, type RoomSummary, type User,
} from '../sdk';
import { mergeMessages } from './messages';

export interface Conversation {
  messages: Message[];
  hasMoreBefore: boolean;
  loading: boolean;
  loaded: boolean;
  error: string | null;
}

const kEmptyConv: Conversation = { messages: [], hasMoreBefore: true, loading: false, loaded: false, error: null };
const kPageSize = 50;
const kReadKey = 'parley.read.v1';
const kDraftKey = 'parley.drafts.v1';

export type Phase = 'loading' | 'signed_out' | 'ready';

export class AppStore {
  readonly rest = new RestClient();
  gateway: Gateway | null = null;

  readonly phase = signal<Phase>('loading');
  readonly me = signal<User | null>(null);
  readonly rooms = signal<ReadonlyMap<Id, RoomSummary>>(new Map());
  readonly users = signal<ReadonlyMap<Id, User>>(new Map());
  readonly convs = signal<ReadonlyMap<Id, Conversation>>(new Map());
  readonly current = signal<Id | null>(null);
  readonly connection = signal<ConnectionState>('idle');
  readonly retryAt = signal<number | null>(null);
  readonly outboxVersion = signal(0);
  /** Text for the polite live region (new messages in the open room). */
  readonly announcement = signal('');
  readonly notice = signal<string | null>(null);

  private userFetches = new Map<Id, Promise<User | null>>();
  private read: Record<Id, number> = loadJson(kReadKey);
  private drafts: Record<Id, string> = loadJson(kDraftKey, sessionStorageSafe());
  private unsubs: Array<() => void> = [];

  // --- session

  async boot(): Promise<void> {
    try {
      const me = await this.rest.me();
      this.startSession(me);
    } catch (e) {
      if (e instanceof ParleyError && e.code === 'unauthorized') this.phase.value = 'signed_out';
      else {
        this.notice.value = 'Cannot reach the server. Retrying…';
        setTimeout(() => void this.boot(), 3000);
      }
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    const r = await this.rest.login({ username, password, device: deviceName() });
    this.startSession(r.user);
  }

  async signUp(username: string, password: string, displayName: string): Promise<void> {
    await this.rest.register({ username, password, display_name: displayName || undefined });
    await this.signIn(username, password);
  }

  async signOut(): Promise<void> {
    try { await this.rest.logout(); } catch { /* the session may already be gone */ }
    this.endSession();
  }

  private startSession(me: User): void {
    this.cacheUser(me);
    this.me.value = me;
    this.phase.value = 'ready';
    this.notice.value = null;
    const gw = new Gateway({
      url: gatewayUrl(),
      fetchEventsAfter: (room, after) => this.rest.events(room, after),
    });
    this.gateway = gw;
    this.unsubs.push(
      gw.state.subscribe((s) => { this.connection.value = s; this.retryAt.value = gw.retryAt; }),
      gw.outbox.version.subscribe((v) => { this.outboxVersion.value = v; }),
      gw.on('ready', (r, resumed) => this.onReady(r.rooms, resumed)),
      gw.on('event', (ev) => this.onEvent(ev)),
      gw.on('roomJoined', (s) => this.upsertRoom(s)),
      gw.on('roomReset', (room) => this.resetConversation(room)),
      gw.on('ended', (code) => {
        this.endSession();
        this.notice.value = code === 4500 ? 'You were signed out.' : 'Your session has ended. Please sign in again.';
      }),
    );
    gw.start();
  }

  private endSession(): void {
    for (const u of this.unsubs.splice(0)) u();
    this.gateway?.stop();
    this.gateway = null;
    batch(() => {
      this.me.value = null;
      this.rooms.value = new Map();
      this.convs.value = new Map();
      this.current.value = null;
      this.connection.value = 'idle';
      this.phase.value = 'signed_out';
    });
  }

  retryConnection(): void { this.gateway?.retryNow(); }

  // --- users

  cacheUser(u: User): void {
    const next = new Map(this.users.value);
    next.set(u.id, u);
    this.users.value = next;
  }

  /** The user, fetched once in the background when not cached yet. */
  user(id: Id | null): User | undefined {
    if (!id) return undefined;
    const u = this.users.value.get(id);
    if (!u && !this.userFetches.has(id)) {
      const p = this.rest.user(id).then((x) => { this.cacheUser(x); return x; }, () => null);
      this.userFetches.set(id, p);
    }
    return u;
  }

  displayName(id: Id | null): string {
    const u = this.user(id);
    return u ? u.display_name || u.username : '…';
  }

  roomTitle(s: RoomSummary): string {
    if (s.room.kind === 'dm') return s.dm_peer_id ? this.displayName(s.dm_peer_id) : 'Direct message';
    return s.room.name || 'Untitled group';
  }

  // --- rooms

  sortedRooms(): RoomSummary[] {
    const when = (s: RoomSummary) => s.last_message?.created_at ?? s.room.created_at;
    return [...this.rooms.value.values()].sort((a, b) => when(b) - when(a));
  }

  unread(s: RoomSummary): number {
    if (s.room.id === this.current.value && this.phase.value === 'ready' && isVisible()) return 0;
    const seen = this.read[s.room.id];
    if (seen === undefined) return s.unread;
    return Math.max(0, Math.min(s.unread, s.room.last_seq - seen));
  }

  private onReady(rooms: RoomSummary[], resumed: boolean): void {
    batch(() => {
      const next = new Map<Id, RoomSummary>();
      for (const s of rooms) {
        const old = this.rooms.value.get(s.room.id);
        // While resuming, the replay that follows brings summaries up to date; keep our
        // newer copy of the counters (they only move forward).
        next.set(s.room.id, resumed && old && old.room.last_seq > s.room.last_seq ? old : s);
        if (s.last_message) this.user(s.last_message.sender_id);
      }
      this.rooms.value = next;
      if (!resumed) this.convs.value = new Map();
      const cur = this.current.value;
      if (cur && !next.has(cur)) this.current.value = null;
    });
    const cur = this.current.value;
    if (cur && !this.convs.value.get(cur)?.loaded) void this.loadLatest(cur);
  }

  private upsertRoom(s: RoomSummary): void {
    const next = new Map(this.rooms.value);
    next.set(s.room.id, s);
    this.rooms.value = next;
  }

  private patchRoom(id: Id, f: (s: RoomSummary) => RoomSummary): void {
    const s = this.rooms.value.get(id);
    if (!s) return;
    const next = new Map(this.rooms.value);
    next.set(id, f(s));
    this.rooms.value = next;
  }

  async openDm(userId: Id): Promise<Id> {
    const room = await this.rest.openDm(userId);
    await this.ensureRoom(room.id);
    return room.id;
  }

  async createGroup(name: string, memberIds: Id[]): Promise<Id> {
    const room = await this.rest.createGroup({ name, member_ids: memberIds });
    await this.ensureRoom(room.id);
    return room.id;
  }

  /** The room.joined frame usually beats the REST reply; if not, fetch the list once. */
  private async ensureRoom(id: Id): Promise<void> {
    if (this.rooms.value.has(id)) return;
    const rooms = await this.rest.rooms();
    const s = rooms.find((r) => r.room.id === id);
    if (s && !this.rooms.value.has(id)) this.upsertRoom(s);
  }

  // --- conversations

  conv(room: Id): Conversation { return this.convs.value.get(room) ?? kEmptyConv; }

  private setConv(room: Id, f: (c: Conversation) => Conversation): void {
    const next = new Map(this.convs.value);
    next.set(room, f(this.conv(room)));
    this.convs.value = next;
  }

  open(room: Id | null): void {
    this.current.value = room;
    if (!room) return;
    this.markRead(room);
    const c = this.conv(room);
    if (!c.loaded && !c.loading) void this.loadLatest(room);
  }

  markRead(room: Id): void {
    const s = this.rooms.value.get(room);
    if (!s) return;
    if (this.read[room] === s.room.last_seq) return;
    this.read[room] = s.room.last_seq;
    saveJson(kReadKey, this.read);
    this.rooms.value = new Map(this.rooms.value); // re-render badges
  }

  async loadLatest(room: Id): Promise<void> {
    this.setConv(room, (c) => ({ ...c, loading: true, error: null }));
    try {
      const page = await this.rest.history(room, { limit: kPageSize });
      for (const m of page.messages) this.user(m.sender_id);
      this.setConv(room, (c) => ({ ...c, messages: mergeMessages(c.messages, page.messages),
                                   hasMoreBefore: page.has_more_before, loading: false, loaded: true }));
    } catch (e) {
      this.setConv(room, (c) => ({ ...c, loading: false, error: errorText(e) }));
    }
  }

  async loadOlder(room: Id): Promise<void> {
    const c = this.conv(room);
    if (c.loading || !c.hasMoreBefore || !c.loaded) return;
    const first = c.messages[0];
    if (!first) return;
    this.setConv(room, (x) => ({ ...x, loading: true }));
    try {
      const page = await this.rest.history(room, { before: first.id, limit: kPageSize });
      for (const m of page.messages) this.user(m.sender_id);
      this.setConv(room, (x) => ({ ...x, messages: mergeMessages(x.messages, page.messages),
                                   hasMoreBefore: page.has_more_before, loading: false }));
    } catch (e) {
      this.setConv(room, (x) => ({ ...x, loading: false, error: errorText(e) }));
    }
  }

  private resetConversation(room: Id): void {
    const next = new Map(this.convs.value);
    next.delete(room);
    this.convs.value = next;
    if (this.current.value === room) void this.loadLatest(room);
  }

  private onEvent(ev: RoomEvent): void {
    batch(() => {
      this.patchRoom(ev.room_id, (s) => ({ ...s, room: { ...s.room, last_seq: Math.max(s.room.last_seq, ev.seq) } }));
      switch (ev.type) {
        case 'message.created': {
          const m = ev.message;
          this.user(m.sender_id);
          const mine = m.sender_id === this.me.value?.id;
          this.patchRoom(ev.room_id, (s) => ({
            ...s,
            last_message: !s.last_message || m.seq >= s.last_message.seq ? m : s.last_message,
            unread: mine ? s.unread : s.unread + 1,
          }));
          if (this.convs.value.has(ev.room_id)) this.setConv(ev.room_id, (c) => ({ ...c, messages: mergeMessages(c.messages, [m]) }));
          if (this.current.value === ev.room_id && isVisible()) this.markRead(ev.room_id);
          if (!mine && this.current.value === ev.room_id) {
            this.announcement.value = `${this.displayName(m.sender_id)}: ${m.body.slice(0, 140)}`;
          }
          break;
        }
        case 'message.updated':
        case 'message.deleted': {
          const m = ev.message;
          this.patchRoom(ev.room_id, (s) => (s.last_message?.id === m.id ? { ...s, last_message: m } : s));
          if (this.convs.value.has(ev.room_id)) this.setConv(ev.room_id, (c) => ({ ...c, messages: mergeMessages(c.messages, [m]) }));
          break;
        }
        case 'room.updated':
          this.patchRoom(ev.room_id, (s) => ({ ...s, room: { ...s.room, name: ev.name, topic: ev.topic } }));
          break;
        case 'member.left':
          if (ev.user_id === this.me.value?.id) {
            const next = new Map(this.rooms.value);
            next.delete(ev.room_id);
            this.rooms.value = next;
            if (this.current.value === ev.room_id) this.current.value = null;
          }
          break;
        case 'member.joined':
          this.user(ev.user_id);
          break;
      }
    });
  }

  // --- sending and editing

  pending(room: Id): PendingSend[] {
    void this.outboxVersion.value; // subscribe
    return this.gateway?.outbox.forRoom(room) ?? [];
  }

  send(room: Id, body: string, replyTo: Id | null): void {
    if (!this.gateway) return;
    try {
      this.gateway.send(room, body, replyTo);
    } catch (e) {
      this.notice.value = errorText(e);
    }
  }

  resend(txn: string): void { this.gateway?.resend(txn); }
  discard(txn: string): void { this.gateway?.outbox.discard(txn); }

  async edit(room: Id, id: Id, body: string): Promise<void> {
    const r = await this.rest.editMessage(room, id, body);
    this.setConv(room, (c) => ({ ...c, messages: mergeMessages(c.messages, [r.message]) }));
  }

  async remove(room: Id, id: Id): Promise<void> {
    await this.rest.deleteMessage(room, id);
  }

  findMessage(room: Id, id: Id): Message | undefined {
    return this.conv(room).messages.find((m) => m.id === id);
  }

  // --- drafts (per room, per tab)

  draft(room: Id): string { return this.drafts[room] ?? ''; }
  setDraft(room: Id, text: string): void {
    if (text) this.drafts[room] = text; else delete this.drafts[room];
    saveJson(kDraftKey, this.drafts, sessionStorageSafe());
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ParleyError) {
    switch (e.code) {
      case 'network': return 'Cannot reach the server.';
      case 'rate_limited': return 'Too many attempts. Try again in a moment.';
      case 'unauthorized': return 'Wrong username or password.';
      default: return e.message || 'Something went wrong.';
    }
  }
  return 'Something went wrong.';
}

function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS/.test(ua) ? 'macOS'
    : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return `${browser}${os ? ' on ' + os : ''}`;
}

function isVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState !== 'hidden';
}

function sessionStorageSafe(): Storage | null {
  try { return sessionStorage; } catch { return null; }
}

function localStorageSafe(): Storage | null {
  try { return localStorage; } catch { return null; }
}

function loadJson<T extends object>(key: string, storage: Storage | null = localStorageSafe()): T {
  try { return JSON.parse(storage?.getItem(key) ?? '{}') as T; } catch { return {} as T; }
}

function saveJson(key: string, value: object, storage: Storage | null = localStorageSafe()): void {
  try { storage?.setItem(key, JSON.stringify(value)); } catch { /* quota or private mode */ }
}
