// sdk/rest.ts: RestClient, a thin typed wrapper over the REST API under /api/v1.
//
// Authentication: in the browser the HttpOnly session cookie set by login is sent
// automatically (same origin; the browser adds the Origin header the CSRF check wants). Bots and
// other integrators pass `token` and get `Authorization: Bearer`. Errors are thrown as
// ParleyError with the problem+json `code`; network failures have code `network`.
import { ParleyError, problemError } from './errors';
import { startUpload, type UploadOptions, type UploadTask, type XhrLike } from './uploads';
import type {
  HistoryPage, Id, LoginResult, Message, Member, ReadState, Receipts, Room, RoomEvent, RoomSummary, SearchPage,
  SearchQuery, Session, User,
} from './types';

export interface RestOptions {
  baseUrl?: string;                 // origin + prefix, default '' (same origin)
  token?: string | null;            // bearer token; omit to use the session cookie
  fetch?: typeof fetch;             // injectable for tests
  xhr?: () => XhrLike;              // uploads (for progress); injectable for tests
}

export interface HistoryQuery {
  before?: Id;
  after?: Id;
  around?: Id;
  limit?: number;
}

export class RestClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly xhrImpl: () => XhrLike;
  token: string | null;

  constructor(opts: RestOptions = {}) {
    this.base = (opts.baseUrl ?? '') + '/api/v1';
    this.fetchImpl = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.token = opts.token ?? null;
    this.xhrImpl = opts.xhr ?? (() => new XMLHttpRequest() as unknown as XhrLike);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new ParleyError('network', e instanceof Error ? e.message : 'network error');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: Record<string, unknown> | null = null;
    if (text) {
      try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = null; }
    }
    if (!res.ok) throw problemError(res.status, res.statusText, json, (h) => res.headers.get(h));
    return json as T;
  }

  // --- accounts and sessions
  register(p: { username: string; password: string; display_name?: string; email?: string; invite_code?: string }) {
    return this.request<{ user: User }>('POST', '/auth/register', p).then((r) => r.user);
  }
  login(p: { username: string; password: string; device?: string }) {
    return this.request<LoginResult>('POST', '/auth/login', p);
  }
  logout() { return this.request<void>('POST', '/auth/logout'); }
  sessions() { return this.request<{ sessions: Session[] }>('GET', '/auth/sessions').then((r) => r.sessions); }
  revokeSession(id: Id) { return this.request<void>('DELETE', `/auth/sessions/${enc(id)}`); }
  changePassword(old_password: string, new_password: string) {
    return this.request<void>('POST', '/auth/password', { old_password, new_password });
  }
  me() { return this.request<{ user: User }>('GET', '/users/me').then((r) => r.user); }
  updateMe(p: { display_name?: string; email?: string }) {
    return this.request<{ user: User }>('PATCH', '/users/me', p).then((r) => r.user);
  }
  searchUsers(q: string, limit = 20) {
    return this.request<{ users: User[]; next: Id | null }>('GET', `/users?${qs({ q, limit })}`);
  }
  user(id: Id) { return this.request<{ user: User }>('GET', `/users/${enc(id)}`).then((r) => r.user); }

  // --- rooms
  rooms() { return this.request<{ rooms: RoomSummary[] }>('GET', '/rooms').then((r) => r.rooms); }
  room(id: Id) { return this.request<{ room: Room; members: Member[] }>('GET', `/rooms/${enc(id)}`); }
  createGroup(p: { name: string; topic?: string; member_ids?: Id[] }) {
    return this.request<{ room: Room }>('POST', '/rooms', p).then((r) => r.room);
  }
  openDm(user_id: Id) { return this.request<{ room: Room }>('POST', '/dms', { user_id }).then((r) => r.room); }
  updateRoom(id: Id, p: { name?: string; topic?: string }) {
    return this.request<{ room: Room; event: RoomEvent }>('PATCH', `/rooms/${enc(id)}`, p);
  }
  addMember(id: Id, user_id: Id) {
    return this.request<{ event: RoomEvent }>('POST', `/rooms/${enc(id)}/members`, { user_id });
  }
  removeMember(id: Id, user_id: Id) {
    return this.request<void>('DELETE', `/rooms/${enc(id)}/members/${enc(user_id)}`);
  }

  // --- messages
  history(room: Id, q: HistoryQuery = {}) {
    return this.request<HistoryPage>('GET', `/rooms/${enc(room)}/messages?${qs({ ...q })}`);
  }
  pins(room: Id) {
    return this.request<{ pins: Array<{ message: Message; pinned_by: Id; pinned_at: number }> }>('GET', `/rooms/${enc(room)}/pins`)
      .then((r) => r.pins);
  }
  pin(room: Id, message_id: Id) {
    return this.request<{ changed: boolean }>('POST', `/rooms/${enc(room)}/pins`, { message_id });
  }
  unpin(room: Id, message_id: Id) {
    return this.request<{ changed: boolean }>('DELETE', `/rooms/${enc(room)}/pins/${enc(message_id)}`);
  }
  thread(room: Id, root: Id, q: { before?: Id; after?: Id; limit?: number } = {}) {
    return this.request<{ root: Message; messages: Message[]; following: boolean; has_more_before: boolean; has_more_after: boolean }>(
      'GET', `/rooms/${enc(room)}/threads/${enc(root)}?${qs({ ...q })}`);
  }
  sendMessage(room: Id, p: { client_txn_id: string; body: string; reply_to?: Id | null; thread_root?: Id | null;
                            attachments?: Id[] }) {
    return this.request<{ message: Message; duplicate: boolean }>('POST', `/rooms/${enc(room)}/messages`, p);
  }
  editMessage(room: Id, id: Id, body: string) {
    return this.request<{ message: Message; event: RoomEvent }>('PATCH', `/rooms/${enc(room)}/messages/${enc(id)}`, { body });
  }
  deleteMessage(room: Id, id: Id) {
    return this.request<void>('DELETE', `/rooms/${enc(room)}/messages/${enc(id)}`);
  }
  /** Moves the read marker; no seq marks the whole room read. */
  markRead(room: Id, seq?: number) {
    return this.request<{ read: ReadState }>('POST', `/rooms/${enc(room)}/read`, seq === undefined ? {} : { seq }).then((r) => r.read);
  }
  markUnread(room: Id, message_id: Id) {
    return this.request<{ read: ReadState }>('POST', `/rooms/${enc(room)}/unread`, { message_id }).then((r) => r.read);
  }
  receipts(room: Id, id: Id) {
    return this.request<Receipts>('GET', `/rooms/${enc(room)}/messages/${enc(id)}/receipts`);
  }
  react(room: Id, id: Id, emoji: string, add: boolean) {
    return this.request<{ changed: boolean; event: RoomEvent | null }>(
      'POST', `/rooms/${enc(room)}/messages/${enc(id)}/reactions`, { emoji, add });
  }
  updatePrivacy(p: { read_receipts?: boolean; invisible?: boolean }) {
    return this.request<{ user: User }>('PATCH', '/users/me', p).then((r) => r.user);
  }
  /**
   * Uploads a file (POST /uploads) and resolves to the unsent Attachment whose id a message then
   * carries. Progress reports the bytes the browser has sent; `abort()` (or `signal`) cancels,
   * and the promise rejects with code `aborted`. The server refuses with `too_large`,
   * `quota_exceeded` or `unsupported_type` (see ParleyError.fileRefused).
   */
  upload(file: Blob, opts: UploadOptions = {}): UploadTask {
    return startUpload(this.xhrImpl(), this.base, this.token, file, opts);
  }
  /** Full-text search (docs/search.md); a refused query is a ParleyError invalid_argument whose message says what to fix. */
  search(p: SearchQuery) {
    return this.request<SearchPage>('GET', `/search?${qs({ q: p.q, sort: p.sort, cursor: p.cursor, limit: p.limit, tz_offset: p.tz_offset })}`);
  }
  events(room: Id, after_seq: number, limit = 500) {
    return this.request<{ events: RoomEvent[] }>('GET', `/rooms/${enc(room)}/events?${qs({ after_seq, limit })}`)
      .then((r) => r.events);
  }
}

function enc(s: string): string { return encodeURIComponent(s); }

function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  return u.toString();
}
