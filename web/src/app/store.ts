// app/store.ts: AppStore, the web client's state (Preact signals) and the one place that turns
// SDK events into state. Components read signals and call methods; they never talk to the
// REST client or the gateway directly.
//
// Conversation state per opened room: messages ascending by seq, merged from history pages
// and live events in whatever order they land (messages.ts). Pending sends come from the SDK
// outbox and are drawn after the confirmed messages until their echo arrives.
//
// Read state is the server's (docs/protocol.md, "Read state and receipts"): unread counts come
// from the room summaries and `read.updated`; viewing a room moves the marker with the gateway
// `read` op; each batch of incoming messages is acknowledged with `delivered`. DM receipts
// (`receipt` frames, peer_*_seq in summaries) drive the sent/delivered/read ticks. Typing and
// presence are kept here as ephemeral maps (never stored). Reactions are counts per message,
// updated from reaction.* events; which ones are yours is known for those you made or saw
// made in this tab (the server's history gives counts only), and a toggle falls back to the
// server's idempotent answer (`changed: false`) for the rest.
//
// Threading: browser main thread only.
import { batch, signal } from '@preact/signals';
import {
  Gateway, gatewayUrl, newTxnId, ParleyError, RestClient,
  type Attachment, type ConnectionState, type Id, type Message, type PendingSend, type PresenceInfo, type Ready, type Receipts, type RoomEvent,
  type RoomSummary, type User,
} from '../sdk';
import { applyReaction, mergeMessages, tickFor, type Tick } from './messages';
import { SearchModel } from './search';

export interface Conversation {
  messages: Message[];
  hasMoreBefore: boolean;
  /**
   * True while the loaded window is a stretch of the past (opened around a message) that does
   * not reach the live end: newer messages load as the list scrolls down (loadNewer), and
   * live messages wait in a bounded buffer until the window reaches them.
   */
  hasMoreAfter: boolean;
  loading: boolean;
  loaded: boolean;
  error: string | null;
  /** A message to scroll to and highlight (set by jumpTo; the list calls focusDone). */
  focus: { id: Id; nonce: number } | null;
}

const kNoMembers: readonly Id[] = [];
const kEmptyConv: Conversation = {
  messages: [], hasMoreBefore: true, hasMoreAfter: false, loading: false, loaded: false, error: null, focus: null,
};
/** Live messages held for a room whose window is in the past; past this, reaching the end reloads. */
const kMaxDetached = 500;
const kPageSize = 50;
/** Older history comes in the largest pages the server gives (fewer round trips while scrolling back). */
const kOlderPageSize = 100;
const kTypingRefreshMs = 3000;
const kDraftKey = 'parley.drafts.v1';

export type Phase = 'loading' | 'signed_out' | 'ready';

export class AppStore {
  readonly rest = new RestClient();
  gateway: Gateway | null = null;
  readonly search = new SearchModel(this.rest);

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
  /** Presence of users who share a room with us (absent: offline as far as we know). */
  readonly presence = signal<ReadonlyMap<Id, PresenceInfo>>(new Map());
  /** Per room: who is typing, until when (ms). */
  readonly typing = signal<ReadonlyMap<Id, ReadonlyMap<Id, number>>>(new Map());
  /** `${message id} ${emoji}` for reactions we know are ours. */
  readonly myReactions = signal<ReadonlySet<string>>(new Set());

  private userFetches = new Map<Id, Promise<User | null>>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private typingSent: { room: Id; at: number } | null = null;
  private deliveredDue = new Set<Id>();
  /** Per opened room: the read marker when it was opened with unread messages (the divider). */
  private dividers = new Map<Id, number>();
  private drafts: Record<Id, string> = loadJson(kDraftKey, sessionStorageSafe());
  private unsubs: Array<() => void> = [];
  /** Per room whose window is detached from the live end: live messages not shown yet (or null: too many). */
  private detached = new Map<Id, Message[] | null>();
  private focusNonce = 0;

  // --- session

  async boot(): Promise<void> {
    try {
      const me = await this.rest.me();
      this.startSession(me);
    } catch (e) {
      if (e instanceof ParleyError && e.code === 'unauthorized') this.phase.value = 'signed_out';
      else {
        this.notice.value = typeof navigator !== 'undefined' && navigator.onLine === false
          ? 'You are offline. Parley connects when the network is back.' : 'Cannot reach the server. Retrying…';
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
      gw.on('ready', (r, resumed) => this.onReady(r, resumed)),
      gw.on('event', (ev) => this.onEvent(ev)),
      gw.on('roomJoined', (s) => this.upsertRoom(s)),
      gw.on('roomReset', (room) => this.resetConversation(room)),
      gw.on('readUpdated', (r) => this.patchRoom(r.room_id, (s) => ({
        ...s, last_read_seq: Math.max(s.last_read_seq, r.last_read_seq), unread: r.unread,
        unread_mentions: r.unread_mentions ?? (r.unread === 0 ? 0 : s.unread_mentions),
        delivered_seq: r.delivered_seq,
      }))),
      gw.on('receipt', (r) => this.patchRoom(r.room_id, (s) => (r.user_id === this.me.value?.id ? s : {
        ...s,
        peer_delivered_seq: Math.max(s.peer_delivered_seq ?? 0, r.delivered_seq),
        peer_read_seq: r.read_seq === null ? 0 : Math.max(s.peer_read_seq ?? 0, r.read_seq),
      }))),
      gw.on('typing', (t) => { if (t.user_id !== this.me.value?.id) this.setTyping(t.room_id, t.user_id, t.typing ? Date.now() + (t.expires_in_ms ?? 6000) : 0); }),
      gw.on('presence', (p) => this.mergePresence(p.users)),
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
    this.memberFetches.clear();
    batch(() => {
      this.me.value = null;
      this.rooms.value = new Map();
      this.convs.value = new Map();
      this.detached.clear();
      this.current.value = null;
      this.thread.value = null;
      this.presence.value = new Map();
      this.typing.value = new Map();
      this.myReactions.value = new Set();
      this.search.clear();
      this.search.open.value = false;
      this.roomMembers.value = new Map();
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
    return s.unread;
  }

  /** Unread messages in a room that mention us: the server's count (`unread_mentions`), kept live. */
  mentions(s: RoomSummary): number {
    if (this.unread(s) === 0) return 0;
    return s.unread_mentions ?? 0;
  }

  /** The tab title: unread mentions and unread rooms across the list (the open, visible room counts as read). */
  tabTitle(): string {
    let mentions = 0;
    let unread = 0;
    for (const s of this.rooms.value.values()) {
      mentions += this.mentions(s);
      if (this.unread(s) > 0) unread++;
    }
    return tabTitle(unread, mentions);
  }

  // --- presence and typing

  presenceOf(user: Id | null): PresenceInfo {
    const p = user ? this.presence.value.get(user) : undefined;
    return p ?? { status: 'offline', last_seen: (user ? this.users.value.get(user)?.last_seen : null) ?? null };
  }

  private mergePresence(users: Record<Id, PresenceInfo>): void {
    const next = new Map(this.presence.value);
    for (const [id, p] of Object.entries(users)) {
      if (id === this.me.value?.id) continue;
      next.set(id, p);
      const u = this.users.value.get(id);
      if (u && p.status === 'offline' && p.last_seen) this.cacheUser({ ...u, last_seen: p.last_seen });
    }
    this.presence.value = next;
  }

  /** Who is typing in a room now (user ids, oldest first). */
  typingIn(room: Id): Id[] {
    const m = this.typing.value.get(room);
    if (!m) return [];
    const now = Date.now();
    return [...m.entries()].filter(([, until]) => until > now).map(([id]) => id);
  }

  private setTyping(room: Id, user: Id, until: number): void {
    const next = new Map(this.typing.value);
    const m = new Map(next.get(room) ?? []);
    if (until > Date.now()) m.set(user, until); else m.delete(user);
    if (m.size) next.set(room, m); else next.delete(room);
    this.typing.value = next;
    // One timer sweeps expired entries (the server says typing:false, this covers a lost one).
    if (this.typingTimer === null && next.size) {
      this.typingTimer = setTimeout(() => {
        this.typingTimer = null;
        const now = Date.now();
        const swept = new Map<Id, ReadonlyMap<Id, number>>();
        for (const [r, users] of this.typing.value) {
          const live = new Map([...users].filter(([, t]) => t > now));
          if (live.size) swept.set(r, live);
        }
        this.typing.value = swept;
        if (swept.size) this.setTyping('', '', 0);
      }, 1000);
    }
  }

  /** Called as the user types in a room's composer: announces at most every 3 s. */
  userTyping(room: Id, active: boolean): void {
    const gw = this.gateway;
    if (!gw) return;
    const now = Date.now();
    if (active) {
      if (this.typingSent && this.typingSent.room === room && now - this.typingSent.at < kTypingRefreshMs) return;
      if (gw.typing(room, true)) this.typingSent = { room, at: now };
    } else if (this.typingSent?.room === room) {
      gw.typing(room, false);
      this.typingSent = null;
    }
  }

  // --- receipts

  /** The tick of one of our messages in a DM (groups: null, "read by" is on request). */
  tick(s: RoomSummary, m: Message): Tick | null {
    if (s.room.kind !== 'dm' || m.sender_id !== this.me.value?.id) return null;
    return tickFor(m.seq, s.peer_delivered_seq ?? 0, s.peer_read_seq ?? 0);
  }

  receipts(room: Id, id: Id): Promise<Receipts> { return this.rest.receipts(room, id); }

  // --- reactions

  hasReacted(id: Id, emoji: string): boolean { return this.myReactions.value.has(`${id} ${emoji}`); }

  private setMine(id: Id, emoji: string, mine: boolean): void {
    const key = `${id} ${emoji}`;
    if (this.myReactions.value.has(key) === mine) return;
    const next = new Set(this.myReactions.value);
    if (mine) next.add(key); else next.delete(key);
    this.myReactions.value = next;
  }

  /** Adds or removes our reaction; for one we cannot know is ours, add first and remove if it was. */
  async toggleReaction(room: Id, id: Id, emoji: string): Promise<void> {
    const known = this.hasReacted(id, emoji);
    try {
      const r = await this.rest.react(room, id, emoji, !known);
      if (!r.changed && !known) {
        await this.rest.react(room, id, emoji, false);
        this.setMine(id, emoji, false);
      } else {
        this.setMine(id, emoji, !known);
      }
    } catch (e) {
      this.notice.value = errorText(e);
    }
  }

  private onReady(r: Ready, resumed: boolean): void {
    const rooms = r.rooms;
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
      if (!resumed) { this.convs.value = new Map(); this.detached.clear(); }
      this.presence.value = new Map(Object.entries(r.presence ?? {}));
      const cur = this.current.value;
      if (cur && !next.has(cur)) this.current.value = null;
    });
    const cur = this.current.value;
    if (cur && !this.convs.value.get(cur)?.loaded) void this.loadLatest(cur);
    for (const s of rooms) if ((s.delivered_seq ?? 0) < s.room.last_seq) this.deliveredLater(s.room.id);
    if (cur && isVisible()) this.markRead(cur);
  }

  /** Acknowledges delivery once per batch of events (a microtask later), not per message. */
  private deliveredLater(room: Id): void {
    if (this.deliveredDue.has(room)) return;
    this.deliveredDue.add(room);
    queueMicrotask(() => {
      this.deliveredDue.delete(room);
      const s = this.rooms.value.get(room);
      if (s && (s.delivered_seq ?? 0) < s.room.last_seq && this.gateway?.delivered(room, s.room.last_seq)) {
        this.patchRoom(room, (x) => ({ ...x, delivered_seq: s.room.last_seq }));
      }
    });
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
    if (room !== this.current.value && room) this.dividers.delete(room);
    if (room !== this.current.value) this.thread.value = null;
    this.current.value = room;
    if (!room) return;
    this.markRead(room);
    const c = this.conv(room);
    if (!c.loaded && !c.loading) void this.loadLatest(room);
    void this.loadPins(room);
  }

  /** Moves our read marker to the room's last seq (the server answers with read.updated). */
  markRead(room: Id): void {
    const s = this.rooms.value.get(room);
    if (!s) return;
    if (room === this.current.value && !this.dividers.has(room)) {
      this.dividers.set(room, s.unread > 0 ? s.last_read_seq : Number.MAX_SAFE_INTEGER);
    }
    if (s.last_read_seq >= s.room.last_seq) return;
    const seq = s.room.last_seq;
    const sent = this.gateway?.read(room, seq);
    if (!sent) return; // offline: the next ready (and the open room) tries again
    this.patchRoom(room, (x) => ({ ...x, last_read_seq: seq, delivered_seq: Math.max(x.delivered_seq ?? 0, seq), unread: 0, unread_mentions: 0 }));
  }

  /** The "new messages" divider goes before the first message after this seq (none: MAX). */
  dividerAfter(room: Id): number { return this.dividers.get(room) ?? Number.MAX_SAFE_INTEGER; }

  /** Marks the message and everything after it unread. */
  async markUnread(room: Id, id: Id): Promise<void> {
    const r = await this.rest.markUnread(room, id);
    this.patchRoom(room, (s) => ({ ...s, last_read_seq: r.last_read_seq, unread: r.unread, unread_mentions: r.unread_mentions ?? s.unread_mentions }));
  }

  async loadLatest(room: Id): Promise<void> {
    // From a window in the past: start over at the live end (live messages merge in as usual).
    if (this.conv(room).hasMoreAfter) {
      this.detached.delete(room);
      this.setConv(room, () => ({ ...kEmptyConv, loading: true }));
    }
    this.setConv(room, (c) => ({ ...c, loading: true, error: null }));
    try {
      const page = await this.rest.history(room, { limit: kPageSize });
      for (const m of page.messages) this.user(m.sender_id);
      if (this.conv(room).hasMoreAfter) return; // a jump replaced the window meanwhile
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
      const page = await this.rest.history(room, { before: first.id, limit: kOlderPageSize });
      if (this.conv(room).messages[0]?.id !== first.id) return; // a jump replaced the window meanwhile
      for (const m of page.messages) this.user(m.sender_id);
      this.setConv(room, (x) => ({ ...x, messages: mergeMessages(x.messages, page.messages),
                                   hasMoreBefore: page.has_more_before, loading: false }));
    } catch (e) {
      this.setConv(room, (x) => ({ ...x, loading: false, error: errorText(e) }));
    }
  }

  /**
   * Shows a message in its room's history: loads the messages around it (unless it is loaded
   * already), and sets `focus` so that the list scrolls to it and highlights it. Scrolling then
   * continues both ways (loadOlder, loadNewer); loadLatest returns to the live end.
   */
  async jumpTo(room: Id, id: Id): Promise<void> {
    const nonce = ++this.focusNonce;
    const c = this.conv(room);
    if (c.loaded && !c.loading && c.messages.some((m) => m.id === id)) {
      this.setConv(room, (x) => ({ ...x, focus: { id, nonce } }));
      return;
    }
    // Detach first: live messages from now on wait in the buffer, not in a window they do not follow.
    if (!this.detached.has(room)) this.detached.set(room, []);
    this.setConv(room, (x) => ({ ...x, hasMoreAfter: true, loading: true, error: null, focus: null }));
    try {
      const page = await this.rest.history(room, { around: id, limit: kPageSize });
      if (nonce !== this.focusNonce) return; // a newer jump won
      for (const m of page.messages) this.user(m.sender_id);
      this.setConv(room, () => ({
        messages: page.messages, hasMoreBefore: page.has_more_before, hasMoreAfter: true, loading: false,
        loaded: true, error: null, focus: page.messages.some((m) => m.id === id) ? { id, nonce } : null,
      }));
      if (!page.has_more_after) this.attach(room);
      if (!page.messages.some((m) => m.id === id)) this.setConv(room, (x) => ({ ...x, error: 'That message is no longer in this conversation.' }));
    } catch (e) {
      if (nonce !== this.focusNonce) return;
      this.setConv(room, (x) => ({ ...x, loading: false, error: errorText(e) }));
    }
  }

  /** The list has scrolled to `conv.focus`. */
  focusDone(room: Id): void {
    if (this.conv(room).focus) this.setConv(room, (x) => ({ ...x, focus: null }));
  }

  /** The next newer page of a detached window; the last one re-attaches it to the live end. */
  async loadNewer(room: Id): Promise<void> {
    const c = this.conv(room);
    if (c.loading || !c.hasMoreAfter || !c.loaded) return;
    const last = c.messages[c.messages.length - 1];
    if (!last) return;
    this.setConv(room, (x) => ({ ...x, loading: true }));
    try {
      const page = await this.rest.history(room, { after: last.id, limit: kPageSize });
      const now = this.conv(room);
      if (!now.hasMoreAfter || now.messages[now.messages.length - 1]?.id !== last.id) return; // replaced meanwhile
      for (const m of page.messages) this.user(m.sender_id);
      this.setConv(room, (x) => ({ ...x, messages: mergeMessages(x.messages, page.messages), loading: false }));
      if (!page.has_more_after) this.attach(room);
    } catch (e) {
      this.setConv(room, (x) => ({ ...x, loading: false, error: errorText(e) }));
    }
  }

  /** The window reached the live end: the buffered live messages join it. */
  private attach(room: Id): void {
    const held = this.detached.get(room);
    this.detached.delete(room);
    if (held === null) { void this.loadLatest(room); return; } // overflowed: reload at the live end
    this.setConv(room, (x) => ({ ...x, hasMoreAfter: false, messages: mergeMessages(x.messages, held ?? []) }));
  }

  /** A live message for a room: into its window, or held while the window is in the past. */
  private liveMessage(room: Id, m: Message): void {
    if (!this.convs.value.has(room)) return;
    const c = this.conv(room);
    if (c.hasMoreAfter) {
      const held = this.detached.get(room);
      const last = c.messages[c.messages.length - 1];
      if (c.messages.some((x) => x.id === m.id)) {
        this.setConv(room, (x) => ({ ...x, messages: mergeMessages(x.messages, [m]) }));
      } else if (held && (!last || m.seq > last.seq)) {
        if (held.length >= kMaxDetached) this.detached.set(room, null);
        else held.push(m);
      }
      return;
    }
    this.setConv(room, (x) => ({ ...x, messages: mergeMessages(x.messages, [m]) }));
  }

  private resetConversation(room: Id): void {
    this.detached.delete(room);
    const next = new Map(this.convs.value);
    next.delete(room);
    this.convs.value = next;
    if (this.current.value === room) void this.loadLatest(room);
  }

  private onEvent(ev: RoomEvent): void {
    batch(() => {
      this.patchRoom(ev.room_id, (s) => ({ ...s, room: { ...s.room, last_seq: Math.max(s.room.last_seq, ev.seq) } }));
      switch (ev.type) {
        case 'message.created':
        case 'message.updated':
        case 'message.deleted':
          if (ev.message.thread_root) {
            this.onThreadEvent(ev.room_id, ev.message, ev.thread);
            this.user(ev.message.sender_id);
            break;
          }
          if (ev.type === 'message.created') this.onCreated(ev.room_id, ev.message);
          else this.onChanged(ev.room_id, ev.message);
          break;
        case 'message.pinned':
        case 'message.unpinned':
          this.onPinEvent(ev.room_id, ev.message_id, ev.message, ev.type === 'message.pinned');
          break;
        case 'room.updated':
          this.patchRoom(ev.room_id, (s) => ({ ...s, room: { ...s.room, name: ev.name, topic: ev.topic } }));
          break;
        case 'member.left':
          this.onMemberEvent(ev.room_id, ev.user_id, false);
          if (ev.user_id === this.me.value?.id) {
            const next = new Map(this.rooms.value);
            next.delete(ev.room_id);
            this.rooms.value = next;
            if (this.current.value === ev.room_id) this.current.value = null;
          }
          break;
        case 'member.joined':
          this.user(ev.user_id);
          this.onMemberEvent(ev.room_id, ev.user_id, true);
          break;
        case 'reaction.added':
        case 'reaction.removed': {
          if (ev.user_id === this.me.value?.id) this.setMine(ev.message_id, ev.emoji, ev.type === 'reaction.added');
          if (this.convs.value.has(ev.room_id)) {
            this.setConv(ev.room_id, (c) => ({ ...c, messages: c.messages.map((m) => (m.id === ev.message_id ? applyReaction(m, ev.emoji, ev.count) : m)) }));
          }
          break;
        }
      }
    });
  }

  private onCreated(room: Id, m: Message): void {
    this.user(m.sender_id);
    const me = this.me.value;
    const mine = m.sender_id === me?.id;
    const mentioned = !mine && !!me && mentionsUser(m, me);
    this.patchRoom(room, (s) => ({
      ...s,
      last_message: !s.last_message || m.seq >= s.last_message.seq ? m : s.last_message,
      unread: mine ? s.unread : s.unread + 1,
      unread_mentions: (s.unread_mentions ?? 0) + (mentioned ? 1 : 0),
    }));
    this.liveMessage(room, m);
    if (!mine) this.setTyping(room, m.sender_id, 0);
    if (this.current.value === room && isVisible()) this.markRead(room);
    else if (!mine) this.deliveredLater(room);
    if (!mine && this.current.value === room) {
      this.announcement.value = `${this.displayName(m.sender_id)}: ${m.body.slice(0, 140)}`;
    }
  }

  private onChanged(room: Id, m: Message): void {
    this.patchRoom(room, (s) => (s.last_message?.id === m.id ? { ...s, last_message: m } : s));
    this.liveMessage(room, m);
  }

  // --- members (per room, user ids: fetched once when first needed, e.g. by @mention
  // completion, and kept current by member.* events)

  readonly roomMembers = signal<ReadonlyMap<Id, readonly Id[]>>(new Map());
  private memberFetches = new Set<Id>();

  members(room: Id): readonly Id[] {
    const known = this.roomMembers.value.get(room);
    if (known) return known;
    if (!this.memberFetches.has(room)) {
      this.memberFetches.add(room);
      this.rest.room(room).then((r) => {
        for (const m of r.members) this.user(m.user_id);
        const next = new Map(this.roomMembers.value);
        next.set(room, r.members.map((m) => m.user_id));
        this.roomMembers.value = next;
      }, () => { setTimeout(() => this.memberFetches.delete(room), 10000); }); // asked again later
    }
    return kNoMembers;
  }

  private onMemberEvent(room: Id, user: Id, joined: boolean): void {
    const cur = this.roomMembers.value.get(room);
    if (!cur) return;
    const next = new Map(this.roomMembers.value);
    next.set(room, joined ? (cur.includes(user) ? cur : [...cur, user]) : cur.filter((x) => x !== user));
    this.roomMembers.value = next;
  }

  // --- pins (per room: the pinned messages, newest pin first; from GET …/pins and events)

  readonly pins = signal<ReadonlyMap<Id, Message[]>>(new Map());

  async loadPins(room: Id): Promise<void> {
    try {
      const list = await this.rest.pins(room);
      const next = new Map(this.pins.value);
      next.set(room, list.map((p) => p.message));
      this.pins.value = next;
    } catch { /* the room still works without its pins */ }
  }

  isPinned(room: Id, id: Id): boolean { return this.pins.value.get(room)?.some((m) => m.id === id) ?? false; }

  async setPinned(room: Id, id: Id, pinned: boolean): Promise<void> {
    try { if (pinned) await this.rest.pin(room, id); else await this.rest.unpin(room, id); }
    catch (e) { this.notice.value = errorText(e); }
  }

  private onPinEvent(room: Id, id: Id, m: Message | undefined, pinned: boolean): void {
    const cur = this.pins.value.get(room);
    if (!cur) return; // not loaded: loadPins on open brings it
    const rest = cur.filter((x) => x.id !== id);
    const next = new Map(this.pins.value);
    next.set(room, pinned && m ? [m, ...rest] : rest);
    this.pins.value = next;
  }

  // --- threads (replies stay out of the timeline; the root carries the summary)

  /** The open thread panel: its root and replies, ascending. */
  readonly thread = signal<{
    room: Id; root: Message; replies: Message[]; loading: boolean; error: string | null;
    /** A reply to scroll to and highlight once loaded (a search hit); the panel clears it. */
    focus?: Id | null;
  } | null>(null);

  private onThreadEvent(room: Id, m: Message, summary: Message['thread'] | undefined): void {
    if (summary !== undefined && this.convs.value.has(room)) {
      this.setConv(room, (c) => ({
        ...c, messages: c.messages.map((x) => (x.id === m.thread_root ? { ...x, thread: summary } : x)),
      }));
    }
    const t = this.thread.value;
    if (t && t.room === room && t.root.id === m.thread_root) {
      this.thread.value = { ...t, replies: mergeMessages(t.replies, [m]) };
      if (m.sender_id !== this.me.value?.id) this.setTyping(room, m.sender_id, 0);
    }
  }

  async openThread(room: Id, root: Message, focus: Id | null = null): Promise<void> {
    this.thread.value = { room, root, replies: [], loading: true, error: null, focus };
    try {
      const page = await this.rest.thread(room, root.id, { limit: 100 });
      for (const m of page.messages) this.user(m.sender_id);
      const t = this.thread.value;
      if (t?.root.id === root.id) this.thread.value = { ...t, root: page.root, replies: mergeMessages(t.replies, page.messages), loading: false };
    } catch (e) {
      const t = this.thread.value;
      if (t?.root.id === root.id) this.thread.value = { ...t, loading: false, error: errorText(e) };
    }
  }

  closeThread(): void { this.thread.value = null; }

  threadFocusDone(): void {
    const t = this.thread.value;
    if (t?.focus) this.thread.value = { ...t, focus: null };
  }

  /** A thread reply goes over REST (idempotent by client_txn_id); its echo fills the panel. */
  async replyInThread(room: Id, root: Id, body: string, attachments: readonly Attachment[] = []): Promise<void> {
    const r = await this.rest.sendMessage(room, { client_txn_id: newTxnId(), body, thread_root: root,
                                                  ...(attachments.length ? { attachments: attachments.map((a) => a.id) } : {}) });
    this.onThreadEvent(room, r.message, undefined);
  }

  // --- sending and editing

  pending(room: Id): PendingSend[] {
    void this.outboxVersion.value; // subscribe
    return this.gateway?.outbox.forRoom(room) ?? [];
  }

  send(room: Id, body: string, replyTo: Id | null, attachments: readonly Attachment[] = []): void {
    if (!this.gateway) return;
    if (this.typingSent?.room === room) this.typingSent = null; // sending stops typing on the server
    try {
      this.gateway.send(room, body, replyTo, attachments);
    } catch (e) {
      this.notice.value = errorText(e);
    }
  }

  resend(txn: string): void { this.gateway?.resend(txn); }
  discard(txn: string): void { this.gateway?.outbox.discard(txn); }

  // --- account

  async updateProfile(displayName: string): Promise<void> {
    const u = await this.rest.updateMe({ display_name: displayName });
    this.cacheUser(u);
    this.me.value = u;
  }

  async updatePrivacy(p: { read_receipts?: boolean; invisible?: boolean }): Promise<void> {
    const u = await this.rest.updatePrivacy(p);
    this.me.value = { ...this.me.value!, ...u };
    // Invisibility takes effect at once for this connection too.
    if (p.invisible !== undefined) this.gateway?.setInvisible(p.invisible);
  }

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

/** Whether a message mentions the user: by name or @room/@here (the server's `mentions`), else @username in the text. */
export function mentionsUser(m: Message, me: User): boolean {
  const listed = m.mentions as Message['mentions'] | Array<Id | { user_id: Id }> | undefined;
  if (Array.isArray(listed)) return listed.some((x) => (typeof x === 'string' ? x : x.user_id) === me.id);
  if (listed && typeof listed === 'object') return listed.user_ids.includes(me.id) || listed.room || listed.here;
  const name = me.username.replace(/[.]/g, '\\.');
  return new RegExp(`(^|[^\\w@])@${name}(?![\\w-]|\\.\\w)`, 'i').test(m.body);
}

/** "@2 (3) Parley": unread mentions, then rooms with unread messages. */
export function tabTitle(unreadRooms: number, mentions: number): string {
  return `${mentions > 0 ? `@${mentions} ` : ''}${unreadRooms > 0 ? `(${unreadRooms}) ` : ''}Parley`;
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
