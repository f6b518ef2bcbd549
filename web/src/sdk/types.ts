// sdk/types.ts: the wire types of the Parley protocol v1 (docs/protocol.md). Ids are decimal
// strings, times are Unix milliseconds, seqs are numbers. Pure types, no runtime code.

export type Id = string;

export interface User {
  id: Id;
  username: string;
  display_name: string;
  role: 'user' | 'admin';
  status: 'active' | 'deactivated';
  created_at: number;
  email?: string;
  /** When the user's last gateway connection ended (null: never, or invisible). */
  last_seen?: number | null;
  /** Privacy settings; only on your own user. */
  read_receipts?: boolean;
  invisible?: boolean;
}

export interface Room {
  id: Id;
  kind: 'dm' | 'group';
  name: string;
  topic: string;
  created_by: Id;
  created_at: number;
  last_seq: number;
  /** Who may pin in a group (DMs: both members). */
  pin_policy?: 'members' | 'moderators';
}

export interface Member {
  user_id: Id;
  role: 'owner' | 'moderator' | 'member';
  joined_at: number;
  last_read_seq: number;
}

// Whom a message mentions, resolved by the server (docs/protocol.md "Mentions").
export interface Mentions {
  user_ids: Id[];
  room: boolean;
  here: boolean;
}

export interface Message {
  id: Id;
  room_id: Id;
  seq: number;
  sender_id: Id;
  client_txn_id: string | null;
  body: string;
  // The server's rendering of `body` (docs/protocol.md "Message markup"); sanitize before use.
  // Absent on a client's own optimistic copy until the server's version arrives.
  html?: string;
  mentions?: Mentions;
  reply_to: Id | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  /** A thread reply: the root message. */
  thread_root?: Id | null;
  /** A root with live replies. */
  thread?: ThreadSummary | null;
  /** The quoted message when reply_to is set. */
  reply_preview?: ReplyPreview | null;
  edit_count?: number;
  /** Counts per emoji in history reads; [] inside events (clients keep counts from reaction.* events). */
  reactions?: ReactionCount[];
  /** The message's files in the order they were sent ([] for none and for a deleted message). */
  attachments?: Attachment[];
}

/**
 * A file shared in a message (docs/protocol.md "Attachment"). `mime` is detected by the server
 * from the content; width, height and the rendition URLs are null except for images. URLs are
 * same-origin paths that check room membership on every request.
 */
export interface Attachment {
  id: Id;
  name: string;
  mime: string;
  kind: 'image' | 'video' | 'audio' | 'file';
  size: number;
  sha256: string;
  width: number | null;
  height: number | null;
  url: string;
  thumbnail_url: string | null;
  preview_url: string | null;
}

export interface ReactionCount {
  emoji: string;
  count: number;
}

export interface ThreadSummary {
  root_id: Id;
  reply_count: number;
  last_reply_id: Id | null;
  last_reply_at: number | null;
  participants: Id[];
}

export interface ReplyPreview {
  message_id: Id;
  sender_id: Id | null;
  body: string;
  truncated: boolean;
  deleted: boolean;
}

export interface RoomSummary {
  room: Room;
  role: Member['role'];
  last_read_seq: number;
  delivered_seq?: number;
  unread: number;
  unread_mentions?: number;  // of the unread, those that mention you (by name, @room, @here)
  last_message: Message | null;
  dm_peer_id: Id | null;
  /** DMs only: the peer's positions (peer_read_seq is 0 when the peer hides read receipts). */
  peer_delivered_seq?: number;
  peer_read_seq?: number;
}

/** Your own position in one room (read.updated, POST …/read). */
export interface ReadState {
  room_id: Id;
  last_read_seq: number;
  delivered_seq: number;
  unread: number;
  unread_mentions?: number;  // of the unread, those that mention you
}

/** A DM member's positions changed (ephemeral). */
export interface Receipt {
  room_id: Id;
  user_id: Id;
  delivered_seq: number;
  read_seq: number | null;
}

export interface TypingFrame {
  room_id: Id;
  user_id: Id;
  typing: boolean;
  expires_in_ms?: number;
}

export type PresenceStatus = 'online' | 'away' | 'offline';

export interface PresenceInfo {
  status: PresenceStatus;
  last_seen: number | null;
}

export interface PresenceFrame {
  room_id: Id;
  users: Record<Id, PresenceInfo>;
}

export interface Receipts {
  read_count: number;
  delivered_count: number;
  read_by: Id[];
  delivered_to: Id[];
}

interface EventBase {
  room_id: Id;
  seq: number;
  actor_id: Id;
  created_at: number;
}

export type RoomEvent =
  | (EventBase & {
      type: 'message.created' | 'message.updated' | 'message.deleted';
      message: Message;
      /** Thread replies: the root's summary as stored now. */
      thread?: ThreadSummary;
    })
  | (EventBase & { type: 'member.joined'; user_id: Id; role: Member['role'] })
  | (EventBase & { type: 'member.left'; user_id: Id })
  | (EventBase & { type: 'room.updated'; name: string; topic: string; pin_policy?: Room['pin_policy'] })
  | (EventBase & { type: 'message.pinned' | 'message.unpinned'; message_id: Id; message?: Message })
  | (EventBase & {
      type: 'reaction.added' | 'reaction.removed';
      message_id: Id;
      user_id: Id;
      emoji: string;
      count: number;
    });

export const kRoomEventTypes: ReadonlySet<string> = new Set([
  'message.created', 'message.updated', 'message.deleted', 'member.joined', 'member.left', 'room.updated',
  'reaction.added', 'reaction.removed', 'message.pinned', 'message.unpinned',
]);

export interface Session {
  id: Id;
  device: string;
  created_at: number;
  last_used: number;
  expires_at: number;
  current: boolean;
}

export interface LoginResult {
  token: string;
  session_id: Id;
  expires_at: number;
  user: User;
}

export interface HistoryPage {
  messages: Message[];
  has_more_before: boolean;
  has_more_after: boolean;
}

/** One search hit (docs/search.md "Results"). */
export interface SearchResult {
  message: Message;
  room: { id: Id; kind: Room['kind']; name: string };
  /** HTML: the message text escaped, matched words in <mark>; sanitize before use. */
  snippet: string;
}

export interface SearchPage {
  results: SearchResult[];
  /** Opaque cursor of the next page (only valid with the same sort); null on the last page. */
  next: string | null;
}

export interface SearchQuery {
  q: string;
  sort?: 'relevance' | 'recent';
  cursor?: string | null;
  limit?: number;
  /** Minutes east of UTC, so that dates in `q` are the user's calendar days. */
  tz_offset?: number;
}

export interface Ready {
  user: User;
  session_id: Id;
  epoch: string;
  rooms: RoomSummary[];
  presence: Record<Id, PresenceInfo>;
}

export interface Ack {
  message_id: Id;
  room_id: Id;
  seq: number;
  duplicate: boolean;
}

/**
 * The stable error codes of docs/protocol.md, plus client-side ones (network, queue_full,
 * closed, and aborted: an upload cancelled by its caller).
 */
export type ErrorCode =
  | 'invalid_argument' | 'invalid_json' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict'
  | 'too_large' | 'quota_exceeded' | 'unsupported_type' | 'rate_limited' | 'unavailable' | 'internal'
  | 'mention_not_allowed'
  | 'network' | 'queue_full' | 'closed' | 'aborted';
