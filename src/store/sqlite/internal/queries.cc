#include "store/sqlite/internal/queries.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <unordered_set>

namespace parley::store::sqlite_internal {
namespace {

using core::Errc;
using core::Error;
using core::Id;
using core::make_error;

// ---------------------------------------------------------------------------------------------
// Schema. Append new migrations; never edit one that has shipped.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users(
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  email         TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,             -- 'user' | 'admin'
  status        TEXT NOT NULL,             -- 'active' | 'deactivated'
  created_at    INTEGER NOT NULL,
  last_seen     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions(
  id          INTEGER PRIMARY KEY,
  token_hash  TEXT NOT NULL UNIQUE,
  user_id     INTEGER NOT NULL REFERENCES users(id),
  device      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  last_used   INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE rooms(
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,               -- 'group' | 'dm'
  name        TEXT NOT NULL,
  topic       TEXT NOT NULL,
  created_by  INTEGER NOT NULL REFERENCES users(id),
  created_at  INTEGER NOT NULL,
  last_seq    INTEGER NOT NULL DEFAULT 0,  -- seq of the newest event
  dm_key      TEXT UNIQUE                  -- 'minid:maxid' for DMs: one DM per pair
);

CREATE TABLE members(
  room_id       INTEGER NOT NULL REFERENCES rooms(id),
  user_id       INTEGER NOT NULL REFERENCES users(id),
  role          TEXT NOT NULL,             -- 'member' | 'moderator' | 'owner'
  joined_at     INTEGER NOT NULL,
  last_read_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members(user_id);

CREATE TABLE messages(
  id            INTEGER PRIMARY KEY,
  room_id       INTEGER NOT NULL REFERENCES rooms(id),
  seq           INTEGER NOT NULL,          -- seq of its message.created event
  sender_id     INTEGER NOT NULL REFERENCES users(id),
  client_txn_id TEXT,                      -- NULL: no idempotency key
  body          TEXT NOT NULL,             -- '' once deleted
  reply_to      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  edited_at     INTEGER NOT NULL DEFAULT 0,
  deleted_at    INTEGER NOT NULL DEFAULT 0,
  UNIQUE(room_id, seq),
  UNIQUE(sender_id, client_txn_id)
);

-- The room event log: one row per seq. Message events refer to the message row, so a replay
-- carries the message as it is stored now (docs/decisions/0002).
CREATE TABLE events(
  room_id     INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL,               -- 'message.created', 'member.joined', ...
  actor_id    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  message_id  INTEGER,
  user_id     INTEGER,
  member_role TEXT,
  name        TEXT,
  topic       TEXT,
  PRIMARY KEY(room_id, seq)
) WITHOUT ROWID;
)sql"},
    // Issue 3: delivered positions, privacy settings, reactions (events gain emoji and count).
    {2, R"sql(
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
UPDATE members SET delivered_seq = last_read_seq;
ALTER TABLE users ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN invisible INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN emoji TEXT;
ALTER TABLE events ADD COLUMN count INTEGER;

-- One row per (message, emoji, user). room_id is denormalised for per-room cleanup.
CREATE TABLE reactions(
  message_id  INTEGER NOT NULL,
  emoji       TEXT NOT NULL,
  user_id     INTEGER NOT NULL,
  room_id     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY(message_id, emoji, user_id)
) WITHOUT ROWID;
)sql"},
    // Issue 3: pins, threads, quoting, edit history (docs/decisions/0014).
    {3, R"sql(
ALTER TABLE rooms ADD COLUMN pin_policy TEXT NOT NULL DEFAULT 'members';  -- 'members' | 'moderators'
ALTER TABLE events ADD COLUMN pin_policy TEXT;                            -- room.updated
ALTER TABLE messages ADD COLUMN thread_root INTEGER NOT NULL DEFAULT 0;   -- 0: not a thread reply
ALTER TABLE messages ADD COLUMN edit_count INTEGER NOT NULL DEFAULT 0;
-- A root's thread summary over its live replies, kept current by every reply append/delete.
ALTER TABLE messages ADD COLUMN thread_replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN thread_last_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN thread_last_at INTEGER NOT NULL DEFAULT 0;
-- Queries over one thread say "thread_root = ?1 AND thread_root <> 0" to use this index.
CREATE INDEX messages_thread ON messages(thread_root, seq) WHERE thread_root <> 0;

CREATE TABLE pins(
  room_id     INTEGER NOT NULL,
  message_id  INTEGER NOT NULL,
  pinned_by   INTEGER NOT NULL,
  pinned_at   INTEGER NOT NULL,
  PRIMARY KEY(room_id, message_id)
) WITHOUT ROWID;

-- Earlier source bodies of edited messages; rev 1 is the original. Dropped with the message.
CREATE TABLE message_revisions(
  message_id  INTEGER NOT NULL,
  rev         INTEGER NOT NULL,
  body        TEXT NOT NULL,
  written_at  INTEGER NOT NULL,
  replaced_at INTEGER NOT NULL,
  PRIMARY KEY(message_id, rev)
) WITHOUT ROWID;

-- following = 0 keeps an explicit unfollow (so the root author's auto-follow does not return).
CREATE TABLE thread_follows(
  user_id       INTEGER NOT NULL,
  root_id       INTEGER NOT NULL,
  room_id       INTEGER NOT NULL,
  following     INTEGER NOT NULL,
  last_read_seq INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY(user_id, root_id)
) WITHOUT ROWID;
)sql"},
    // Issue 3: rendered HTML and resolved mentions beside each body. mention_ids is the
    // message's mentioned user ids (space separated, in order) for reads; the mentions table is
    // the same set indexed for unread mention counts; mention_flags: 1 @room, 2 @here.
    {4, R"sql(
ALTER TABLE messages ADD COLUMN html TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN mention_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN mention_flags INTEGER NOT NULL DEFAULT 0;
CREATE TABLE mentions(
  user_id     INTEGER NOT NULL,
  room_id     INTEGER NOT NULL,
  seq         INTEGER NOT NULL,              -- the message's seq
  message_id  INTEGER NOT NULL,
  PRIMARY KEY(user_id, room_id, seq)
) WITHOUT ROWID;
CREATE INDEX mentions_message ON mentions(message_id);
CREATE INDEX messages_mention_all ON messages(room_id, seq) WHERE mention_flags <> 0;
)sql"},
    // Issue 4: full-text search. An FTS5 index over messages.body (external content: the text
    // lives once, in messages), kept in step by triggers inside the writing transaction, so an
    // edit or delete changes what search finds at its commit. Deleted messages are not indexed.
    // unicode61 with remove_diacritics 2 folds case and accents ("cafe" finds "Café");
    // prefix indexes of 2 and 3 characters make short prefix queries cheap.
    // past_members remembers, per former member, the seq of their latest leave: they may still
    // find the room's messages up to it (rooms they are in now: all of them).
    {5, R"sql(
CREATE VIRTUAL TABLE message_fts USING fts5(
  body,
  content = 'messages',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3'
);
INSERT INTO message_fts(rowid, body) SELECT id, body FROM messages WHERE deleted_at = 0;

CREATE TRIGGER message_fts_insert AFTER INSERT ON messages WHEN new.deleted_at = 0 BEGIN
  INSERT INTO message_fts(rowid, body) VALUES(new.id, new.body);
END;
CREATE TRIGGER message_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
  INSERT INTO message_fts(message_fts, rowid, body)
    SELECT 'delete', old.id, old.body WHERE old.deleted_at = 0;
  INSERT INTO message_fts(rowid, body) SELECT new.id, new.body WHERE new.deleted_at = 0;
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON messages WHEN old.deleted_at = 0 BEGIN
  INSERT INTO message_fts(message_fts, rowid, body) VALUES('delete', old.id, old.body);
END;

CREATE TABLE past_members(
  user_id   INTEGER NOT NULL,
  room_id   INTEGER NOT NULL,
  left_seq  INTEGER NOT NULL,              -- seq of their latest member.left event
  left_at   INTEGER NOT NULL,
  PRIMARY KEY(user_id, room_id)
) WITHOUT ROWID;
INSERT INTO past_members(user_id, room_id, left_seq, left_at)
  SELECT user_id, room_id, max(seq), max(created_at) FROM events
  WHERE type = 'member.left' AND user_id IS NOT NULL GROUP BY user_id, room_id;
)sql"},
    // Issue 4: attachments (uploaded files, attached to at most one message) and open resumable
    // uploads. Blob keys are hex SHA-256 digests; equal files share a blob, which is deleted by
    // the sweeper once no row here refers to it.
    {6, R"sql(
CREATE TABLE attachments(
  id           INTEGER PRIMARY KEY,
  uploader_id  INTEGER NOT NULL REFERENCES users(id),
  message_id   INTEGER NOT NULL DEFAULT 0,  -- 0 until sent
  room_id      INTEGER NOT NULL DEFAULT 0,  -- 0 until sent
  position     INTEGER NOT NULL DEFAULT 0,  -- order within the message
  name         TEXT NOT NULL,               -- sanitised user-supplied file name
  mime         TEXT NOT NULL,               -- detected from the content
  kind         TEXT NOT NULL,               -- 'image' | 'video' | 'audio' | 'file'
  size         INTEGER NOT NULL,
  sha256       TEXT NOT NULL,               -- hex digest of the original = its blob key
  width        INTEGER NOT NULL DEFAULT 0,
  height       INTEGER NOT NULL DEFAULT 0,
  thumb_key    TEXT NOT NULL DEFAULT '',    -- '' without a thumbnail
  preview_key  TEXT NOT NULL DEFAULT '',    -- '' without a preview
  created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id, position);
CREATE INDEX attachments_room ON attachments(room_id);
CREATE INDEX attachments_uploader ON attachments(uploader_id);
CREATE INDEX attachments_unsent ON attachments(created_at) WHERE message_id = 0;
CREATE INDEX attachments_sha256 ON attachments(sha256);
CREATE INDEX attachments_thumb ON attachments(thumb_key) WHERE thumb_key <> '';
CREATE INDEX attachments_preview ON attachments(preview_key) WHERE preview_key <> '';

CREATE TABLE uploads(
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users(id),
  name        TEXT NOT NULL,
  size        INTEGER NOT NULL,             -- declared total size, reserved against the quota
  created_at  INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads(user_id);
CREATE INDEX uploads_created ON uploads(created_at);
)sql"},
    // Issue 4: attachments are searchable (decision 0017). messages.files_text is the names of
    // a message's attachments and the text extracted from them (blob_texts, once per blob),
    // kept by the store whenever attachments are attached, deleted or a blob's text arrives.
    // The FTS index gains it as a second column: a word finds a message by its body, its file
    // names or its files' contents. Rebuilt here (the external-content table's columns change).
    {7, R"sql(
ALTER TABLE messages ADD COLUMN files_text TEXT NOT NULL DEFAULT '';
CREATE TABLE blob_texts(
  sha256        TEXT PRIMARY KEY,
  text          TEXT NOT NULL,
  status        TEXT NOT NULL,              -- 'extracted' | 'failed'
  extracted_at  INTEGER NOT NULL
) WITHOUT ROWID;

DROP TRIGGER message_fts_insert;
DROP TRIGGER message_fts_update;
DROP TRIGGER message_fts_delete;
DROP TABLE message_fts;

UPDATE messages SET files_text = (
    SELECT group_concat(name, char(10)) FROM (
      SELECT name FROM attachments a WHERE a.message_id = messages.id ORDER BY a.position))
  WHERE deleted_at = 0 AND id IN (SELECT message_id FROM attachments WHERE message_id <> 0);

CREATE VIRTUAL TABLE message_fts USING fts5(
  body,
  files_text,
  content = 'messages',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3'
);
INSERT INTO message_fts(rowid, body, files_text)
  SELECT id, body, files_text FROM messages WHERE deleted_at = 0;

CREATE TRIGGER message_fts_insert AFTER INSERT ON messages WHEN new.deleted_at = 0 BEGIN
  INSERT INTO message_fts(rowid, body, files_text) VALUES(new.id, new.body, new.files_text);
END;
CREATE TRIGGER message_fts_update AFTER UPDATE OF body, deleted_at, files_text ON messages BEGIN
  INSERT INTO message_fts(message_fts, rowid, body, files_text)
    SELECT 'delete', old.id, old.body, old.files_text WHERE old.deleted_at = 0;
  INSERT INTO message_fts(rowid, body, files_text)
    SELECT new.id, new.body, new.files_text WHERE new.deleted_at = 0;
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON messages WHEN old.deleted_at = 0 BEGIN
  INSERT INTO message_fts(message_fts, rowid, body, files_text)
    VALUES('delete', old.id, old.body, old.files_text);
END;
)sql"},
    // Issue 4: resumable uploads. The durable offset and the writer's lease live here, so that
    // every node sees the same offset, two requests never append to one upload at once, and the
    // sweep (any node) never takes an upload being written or completed.
    {8, R"sql(
ALTER TABLE uploads ADD COLUMN received INTEGER NOT NULL DEFAULT 0;     -- durable offset
ALTER TABLE uploads ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;   -- last append or lease
ALTER TABLE uploads ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;  -- writer's lease end (ms)
ALTER TABLE uploads ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;  -- writer's token, 0: none
UPDATE uploads SET updated_at = created_at;
DROP INDEX uploads_created;
CREATE INDEX uploads_updated ON uploads(updated_at);
)sql"},
};

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";

Error not_found(const char* what) { return make_error(Errc::kNotFound, std::string(what) + " not found"); }

Error step_error(Stmt& s, int rc, std::string_view what) {
  return db_error(s.db(), rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_INTERNAL
                                                                 : sqlite3_extended_errcode(s.db()),
                  what);
}

// Runs a statement expected to produce at most one row; true when it did.
core::Result<bool> step_one(Stmt& s, std::string_view what) {
  int rc = s.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return step_error(s, rc, what);
}

// Read transactions make multi-statement reads see one snapshot.
class ReadTxn {
 public:
  explicit ReadTxn(Conn& c) : c_(c) { ok_ = c_.exec_script("BEGIN").ok(); }
  ~ReadTxn() {
    if (ok_) (void)c_.exec_script("COMMIT");
  }

 private:
  Conn& c_;
  bool ok_ = false;
};

// --- enum <-> text
core::UserStatus parse_status(std::string_view s) {
  return s == "deactivated" ? core::UserStatus::kDeactivated : core::UserStatus::kActive;
}
core::RoomKind parse_kind(std::string_view s) {
  return s == "dm" ? core::RoomKind::kDm : core::RoomKind::kGroup;
}
core::EventType parse_event_type(std::string_view s) {
  using core::EventType;
  for (EventType t : {EventType::kMessageCreated, EventType::kMessageUpdated,
                      EventType::kMessageDeleted, EventType::kMemberJoined,
                      EventType::kMemberLeft, EventType::kRoomUpdated,
                      EventType::kReactionAdded, EventType::kReactionRemoved,
                      EventType::kMessagePinned, EventType::kMessageUnpinned}) {
    if (core::to_string(t) == s) return t;
  }
  return EventType::kMessageCreated;
}

// --- row readers (column order matches the *_COLS macros)
#define USER_COLS \
  "id, username, display_name, email, password_hash, role, status, created_at, last_seen, " \
  "read_receipts, invisible"
core::User read_user(const Stmt& s, int o = 0) {
  core::User u;
  u.id = s.id(o + 0);
  u.username = s.text(o + 1);
  u.display_name = s.text(o + 2);
  u.email = s.text(o + 3);
  u.password_hash = s.text(o + 4);
  u.role = core::parse_role(s.text_view(o + 5)).value_or(core::Role::kUser);
  u.status = parse_status(s.text_view(o + 6));
  u.created_at = s.i64(o + 7);
  u.last_seen = s.i64(o + 8);
  u.read_receipts = s.i64(o + 9) != 0;
  u.invisible = s.i64(o + 10) != 0;
  return u;
}

#define SESSION_COLS "id, token_hash, user_id, device, created_at, last_used, expires_at"
core::Session read_session(const Stmt& s) {
  core::Session x;
  x.id = s.id(0);
  x.token_hash = s.text(1);
  x.user_id = s.id(2);
  x.device = s.text(3);
  x.created_at = s.i64(4);
  x.last_used = s.i64(5);
  x.expires_at = s.i64(6);
  return x;
}

#define ROOM_COLS "id, kind, name, topic, created_by, created_at, last_seq, pin_policy"
core::Room read_room(const Stmt& s, int o = 0) {
  core::Room r;
  r.id = s.id(o + 0);
  r.kind = parse_kind(s.text_view(o + 1));
  r.name = s.text(o + 2);
  r.topic = s.text(o + 3);
  r.created_by = s.id(o + 4);
  r.created_at = s.i64(o + 5);
  r.last_seq = s.i64(o + 6);
  r.pin_policy = core::parse_pin_policy(s.text_view(o + 7)).value_or(core::PinPolicy::kMembers);
  return r;
}

#define MEMBER_COLS "room_id, user_id, role, joined_at, last_read_seq, delivered_seq"
core::Member read_member(const Stmt& s, int o = 0) {
  core::Member m;
  m.room_id = s.id(o + 0);
  m.user_id = s.id(o + 1);
  m.role = core::parse_member_role(s.text_view(o + 2)).value_or(core::MemberRole::kMember);
  m.joined_at = s.i64(o + 3);
  m.last_read_seq = s.i64(o + 4);
  m.delivered_seq = s.i64(o + 5);
  return m;
}

#define MESSAGE_COLS \
  "id, room_id, seq, sender_id, client_txn_id, body, reply_to, created_at, edited_at, deleted_at, " \
  "thread_root, edit_count, thread_replies, thread_last_id, thread_last_at, html, mention_ids, " \
  "mention_flags"
// MESSAGE_COLS of the messages table aliased `m`.
#define MESSAGE_COLS_M \
  "m.id, m.room_id, m.seq, m.sender_id, m.client_txn_id, m.body, m.reply_to, m.created_at, " \
  "m.edited_at, m.deleted_at, m.thread_root, m.edit_count, m.thread_replies, m.thread_last_id, " \
  "m.thread_last_at, m.html, m.mention_ids, m.mention_flags"
constexpr int kMentionRoom = 1;
constexpr int kMentionHere = 2;

std::string encode_ids(const std::vector<Id>& ids) {
  std::string out;
  for (Id id : ids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

core::Mentions decode_mentions(std::string_view ids, std::int64_t flags) {
  core::Mentions m;
  std::size_t pos = 0;
  while (pos < ids.size()) {
    auto end = ids.find(' ', pos);
    if (end == std::string_view::npos) end = ids.size();
    if (auto id = core::parse_id(ids.substr(pos, end - pos))) m.user_ids.push_back(*id);
    pos = end + 1;
  }
  m.room = (flags & kMentionRoom) != 0;
  m.here = (flags & kMentionHere) != 0;
  return m;
}

core::Message read_message(const Stmt& s, int o = 0) {
  core::Message m;
  m.id = s.id(o + 0);
  m.room_id = s.id(o + 1);
  m.seq = s.i64(o + 2);
  m.sender_id = s.id(o + 3);
  m.client_txn_id = s.text(o + 4);
  m.body = s.text(o + 5);
  m.reply_to = s.id(o + 6);
  m.created_at = s.i64(o + 7);
  m.edited_at = s.i64(o + 8);
  m.deleted_at = s.i64(o + 9);
  m.thread_root = s.id(o + 10);
  m.edit_count = s.i64(o + 11);
  if (std::int64_t replies = s.i64(o + 12); replies > 0) {
    // Participants are filled by decorate().
    m.thread = core::ThreadSummary{m.id, replies, s.id(o + 13), s.i64(o + 14), {}};
  }
  m.html = s.text(o + 15);
  m.mentions = decode_mentions(s.text_view(o + 16), s.i64(o + 17));
  return m;
}

#define ATTACHMENT_COLS \
  "id, uploader_id, message_id, room_id, position, name, mime, kind, size, sha256, width, " \
  "height, thumb_key, preview_key, created_at"
core::Attachment read_attachment(const Stmt& s, int o = 0) {
  core::Attachment a;
  a.id = s.id(o + 0);
  a.uploader_id = s.id(o + 1);
  a.message_id = s.id(o + 2);
  a.room_id = s.id(o + 3);
  a.position = static_cast<int>(s.i64(o + 4));
  a.name = s.text(o + 5);
  a.mime = s.text(o + 6);
  a.kind = core::parse_attachment_kind(s.text_view(o + 7)).value_or(core::AttachmentKind::kFile);
  a.size = s.i64(o + 8);
  a.sha256 = s.text(o + 9);
  a.width = static_cast<int>(s.i64(o + 10));
  a.height = static_cast<int>(s.i64(o + 11));
  a.thumb_key = s.text(o + 12);
  a.preview_key = s.text(o + 13);
  a.created_at = s.i64(o + 14);
  return a;
}

// Fills m.attachments (position order). Deleted messages have none.
core::Status load_attachments(Conn& c, core::Message& m) {
  m.attachments.clear();
  if (m.deleted_at != 0) return core::ok_status();
  PARLEY_SQL(s, c,
             "SELECT " ATTACHMENT_COLS " FROM attachments WHERE message_id = ?1 "
             "ORDER BY position");
  s.bind_id(1, m.id);
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) m.attachments.push_back(read_attachment(s));
  if (rc != SQLITE_DONE) return step_error(s, rc, "load attachments");
  return core::ok_status();
}

#define UPLOAD_COLS \
  "id, user_id, name, size, created_at, received, updated_at, lease_until, lease_token"
PendingUpload read_upload(const Stmt& s) {
  PendingUpload u;
  u.id = s.id(0);
  u.user_id = s.id(1);
  u.name = s.text(2);
  u.size = s.i64(3);
  u.created_at = s.i64(4);
  u.offset = s.i64(5);
  u.updated_at = s.i64(6);
  u.lease_until = s.i64(7);
  u.lease = s.i64(8);
  return u;
}

// --- shared write steps

// The next gap-free seq of the room, taken inside the caller's transaction.
core::Result<std::int64_t> next_seq(Conn& c, Id room_id) {
  PARLEY_SQL(s, c, "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq");
  s.bind_id(1, room_id);
  auto row = step_one(s, "next seq");
  if (!row) return row.take_error();
  if (!*row) return not_found("room");
  return s.i64(0);
}

core::Status insert_event(Conn& c, const core::RoomEvent& e) {
  PARLEY_SQL(s, c,
             "INSERT INTO events(room_id, seq, type, actor_id, created_at, message_id, user_id, "
             "member_role, name, topic, emoji, count, pin_policy) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  std::string_view type = core::to_string(e.type);
  s.bind_id(1, e.room_id).bind(2, e.seq).bind(3, type).bind_id(4, e.actor_id).bind(5, e.created_at);
  if (e.message) s.bind_id(6, e.message->id);
  std::string_view role;
  if (e.type == core::EventType::kMemberJoined || e.type == core::EventType::kMemberLeft) {
    role = core::to_string(e.member_role);
    s.bind_id(7, e.user_id).bind(8, role);
  }
  std::string_view pin_policy = core::to_string(e.pin_policy);
  if (e.type == core::EventType::kRoomUpdated) {
    s.bind(9, e.name).bind(10, e.topic).bind(13, pin_policy);
  }
  if (e.type == core::EventType::kMessagePinned || e.type == core::EventType::kMessageUnpinned) {
    s.bind_id(6, e.target_id);
  }
  if (e.type == core::EventType::kReactionAdded || e.type == core::EventType::kReactionRemoved) {
    s.bind_id(6, e.target_id).bind_id(7, e.user_id).bind(11, e.emoji).bind(12, e.count);
  }
  return s.exec("insert event");
}

core::Result<bool> exists(Conn& c, const char* sql, Id a, Id b = 0) {
  PARLEY_SQL(s, c, sql);
  s.bind_id(1, a);
  if (b != 0) s.bind_id(2, b);
  return step_one(s, "lookup");
}

constexpr const char* kUserExists = "SELECT 1 FROM users WHERE id = ?1";
constexpr const char* kRoomExists = "SELECT 1 FROM rooms WHERE id = ?1";
constexpr const char* kIsMember = "SELECT 1 FROM members WHERE room_id = ?1 AND user_id = ?2";

core::Status require_user(Conn& c, Id user_id) {
  auto e = exists(c, kUserExists, user_id);
  if (!e) return e.take_error();
  if (!*e) return not_found("user");
  return core::ok_status();
}

core::Status insert_member(Conn& c, Id room_id, Id user_id, core::MemberRole role,
                           std::int64_t joined_at, std::int64_t last_read_seq) {
  PARLEY_SQL(s, c,
             "INSERT INTO members(room_id, user_id, role, joined_at, last_read_seq, delivered_seq) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?5)");
  std::string_view r = core::to_string(role);
  s.bind_id(1, room_id).bind_id(2, user_id).bind(3, r).bind(4, joined_at).bind(5, last_read_seq);
  auto st = s.exec("insert member");
  if (!st && st.error().code == Errc::kConflict) {
    return make_error(Errc::kConflict, "already a member of the room");
  }
  return st;
}

core::Result<core::Message> load_message(Conn& c, Id message_id) {
  PARLEY_SQL(s, c, "SELECT " MESSAGE_COLS " FROM messages WHERE id = ?1");
  s.bind_id(1, message_id);
  auto row = step_one(s, "load message");
  if (!row) return row.take_error();
  if (!*row) return not_found("message");
  core::Message m = read_message(s);
  if (auto st = load_attachments(c, m); !st) return st.take_error();
  return m;
}

// kForbidden unless user_id is a member of room_id (checked in the caller's transaction).
core::Status require_member(Conn& c, Id room_id, Id user_id) {
  auto member = exists(c, kIsMember, room_id, user_id);
  if (!member) return member.take_error();
  if (!*member) return make_error(Errc::kForbidden, "not a member of the room");
  return core::Ok{};
}

// The message a room-scoped edit or delete may change.
core::Result<core::Message> changeable_message(Conn& c, Id room_id, Id message_id,
                                               Id only_sender) {
  auto m = load_message(c, message_id);
  if (!m) return m;
  if (m->room_id != room_id || m->deleted_at != 0) return not_found("message");
  if (only_sender != 0 && m->sender_id != only_sender) {
    return make_error(Errc::kForbidden, "only the sender may change this message");
  }
  return m;
}

core::RoomEvent message_event(core::EventType type, std::int64_t seq, Id actor,
                              std::int64_t at, core::Message m) {
  core::RoomEvent e;
  e.room_id = m.room_id;
  e.seq = seq;
  e.type = type;
  e.actor_id = actor;
  e.created_at = at;
  e.message = std::move(m);
  return e;
}

// --- threads and quotes (issue 3)

// The first `max_chars` code points of valid UTF-8 `s`; `truncated` says whether more follow.
std::string utf8_prefix(std::string_view s, std::size_t max_chars, bool& truncated) {
  std::size_t i = 0, chars = 0;
  while (i < s.size() && chars < max_chars) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  truncated = i < s.size();
  return std::string(s.substr(0, i));
}

// The first repliers of a thread, by their first live reply.
core::Status fill_participants(Conn& c, core::ThreadSummary& t) {
  PARLEY_SQL(s, c,
             "SELECT sender_id FROM messages WHERE thread_root = ?1 AND thread_root <> 0 "
             "AND deleted_at = 0 GROUP BY sender_id ORDER BY min(seq) LIMIT ?2");
  s.bind_id(1, t.root_id).bind(2, core::kMaxThreadParticipants);
  t.participants.clear();
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) t.participants.push_back(s.id(0));
  if (rc != SQLITE_DONE) return step_error(s, rc, "thread participants");
  return core::ok_status();
}

// The thread summary of root `root_id` as stored now (reply_count 0 when it has no live reply).
core::Result<core::ThreadSummary> thread_summary(Conn& c, Id root_id) {
  core::ThreadSummary t;
  t.root_id = root_id;
  {
    PARLEY_SQL(s, c,
               "SELECT thread_replies, thread_last_id, thread_last_at FROM messages WHERE id = ?1");
    s.bind_id(1, root_id);
    auto row = step_one(s, "thread summary");
    if (!row) return row.take_error();
    if (!*row) return t;
    t.reply_count = s.i64(0);
    t.last_reply_id = s.id(1);
    t.last_reply_at = s.i64(2);
  }
  if (t.reply_count > 0) {
    if (auto st = fill_participants(c, t); !st) return st.take_error();
  }
  return t;
}

// Recomputes a root's stored summary from its live replies (after a reply is added or deleted).
core::Status refresh_thread(Conn& c, Id root_id) {
  PARLEY_SQL(s, c,
             "UPDATE messages SET "
             "thread_replies = (SELECT count(*) FROM messages r WHERE r.thread_root = ?1 "
             "  AND r.thread_root <> 0 AND r.deleted_at = 0), "
             "thread_last_id = COALESCE((SELECT r.id FROM messages r WHERE r.thread_root = ?1 "
             "  AND r.thread_root <> 0 AND r.deleted_at = 0 ORDER BY r.seq DESC LIMIT 1), 0), "
             "thread_last_at = COALESCE((SELECT r.created_at FROM messages r WHERE "
             "  r.thread_root = ?1 AND r.thread_root <> 0 AND r.deleted_at = 0 "
             "  ORDER BY r.seq DESC LIMIT 1), 0) "
             "WHERE id = ?1");
  s.bind_id(1, root_id);
  return s.exec("refresh thread");
}

// Completes a message read from its row: thread participants and the quoted message.
core::Status decorate(Conn& c, core::Message& m) {
  if (m.thread) {
    if (auto st = fill_participants(c, *m.thread); !st) return st;
  }
  if (m.reply_to != 0) {
    PARLEY_SQL(s, c, "SELECT sender_id, body, deleted_at FROM messages WHERE id = ?1");
    s.bind_id(1, m.reply_to);
    auto row = step_one(s, "reply preview");
    if (!row) return row.take_error();
    core::ReplyPreview p;
    p.message_id = m.reply_to;
    if (!*row || s.i64(2) != 0) {
      p.deleted = true;
    } else {
      p.body = utf8_prefix(s.text_view(1), core::kReplyPreviewChars, p.truncated);
    }
    if (*row) p.sender_id = s.id(0);
    m.reply_preview = std::move(p);
  }
  return core::ok_status();
}

// A reply's sender follows the thread (again, if they had unfollowed it) and has read it up to
// their reply; the root's author follows it unless they unfollowed it before.
core::Status follow_on_reply(Conn& c, const NewMessage& m, std::int64_t seq, Id root_author) {
  {
    PARLEY_SQL(s, c,
               "INSERT INTO thread_follows(user_id, root_id, room_id, following, last_read_seq, "
               "updated_at) VALUES(?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT(user_id, root_id) DO UPDATE "
               "SET following = 1, last_read_seq = max(last_read_seq, excluded.last_read_seq), "
               "updated_at = excluded.updated_at");
    s.bind_id(1, m.sender_id).bind_id(2, m.thread_root).bind_id(3, m.room_id).bind(4, seq)
        .bind(5, m.created_at);
    if (auto st = s.exec("follow thread"); !st) return st;
  }
  if (root_author == m.sender_id || root_author == 0) return core::ok_status();
  PARLEY_SQL(s, c,
             "INSERT OR IGNORE INTO thread_follows(user_id, root_id, room_id, following, "
             "last_read_seq, updated_at) VALUES(?1, ?2, ?3, 1, 0, ?4)");
  s.bind_id(1, root_author).bind_id(2, m.thread_root).bind_id(3, m.room_id).bind(4, m.created_at);
  return s.exec("follow thread (root author)");
}

// Keeps the body an edit is about to replace, dropping revisions beyond the bound.
core::Status save_revision(Conn& c, const core::Message& m, std::int64_t now) {
  const std::int64_t rev = m.edit_count + 1;  // rev 1 is the original body
  {
    PARLEY_SQL(s, c,
               "INSERT OR REPLACE INTO message_revisions(message_id, rev, body, written_at, "
               "replaced_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    s.bind_id(1, m.id).bind(2, rev).bind(3, m.body)
        .bind(4, m.edited_at != 0 ? m.edited_at : m.created_at).bind(5, now);
    if (auto st = s.exec("save revision"); !st) return st;
  }
  {
    PARLEY_SQL(s, c, "DELETE FROM message_revisions WHERE message_id = ?1 AND rev <= ?2");
    s.bind_id(1, m.id).bind(2, rev - kMaxRevisionsPerMessage);
    if (auto st = s.exec("trim revisions"); !st) return st;
  }
  PARLEY_SQL(s, c, "UPDATE messages SET edit_count = edit_count + 1 WHERE id = ?1");
  s.bind_id(1, m.id);
  return s.exec("count edit");
}

// A deleted message loses its pin and its edit history; a deleted reply leaves its thread.
core::Status forget_deleted(Conn& c, const core::Message& m) {
  {
    PARLEY_SQL(s, c, "DELETE FROM pins WHERE room_id = ?1 AND message_id = ?2");
    s.bind_id(1, m.room_id).bind_id(2, m.id);
    if (auto st = s.exec("unpin deleted"); !st) return st;
  }
  {
    PARLEY_SQL(s, c, "DELETE FROM message_revisions WHERE message_id = ?1");
    s.bind_id(1, m.id);
    if (auto st = s.exec("drop revisions"); !st) return st;
  }
  if (m.thread_root != 0) return refresh_thread(c, m.thread_root);
  return core::ok_status();
}

// Completes a message event: its message, and for a thread reply the root's summary.
core::Status decorate(Conn& c, core::RoomEvent& e) {
  if (!e.message) return core::ok_status();
  if (auto st = decorate(c, *e.message); !st) return st;
  if (e.message->thread_root != 0) {
    auto t = thread_summary(c, e.message->thread_root);
    if (!t) return t.take_error();
    e.thread = std::move(*t);
  }
  return core::ok_status();
}

// RoomSummary::unread and ReadState::unread stop counting here (a larger count is reported as
// this; docs/protocol.md, "Read state and receipts"): the count visits every unread message, so
// without a cap a member who never reads a busy room makes every identify (the `ready` snapshot
// counts each room) cost more as history grows.
constexpr std::int64_t kMaxUnreadCount = 1000;

// Unread count as RoomSummary::unread defines it, at most kMaxUnreadCount.
core::Result<std::int64_t> unread_count(Conn& c, Id room_id, Id user_id, std::int64_t after) {
  PARLEY_SQL(s, c,
             "SELECT count(*) FROM (SELECT 1 FROM messages WHERE room_id = ?1 AND seq > ?2 "
             "AND deleted_at = 0 AND sender_id <> ?3 AND thread_root = 0 LIMIT ?4)");
  s.bind_id(1, room_id).bind(2, after).bind_id(3, user_id).bind(4, kMaxUnreadCount);
  auto row = step_one(s, "unread");
  if (!row) return row.take_error();
  return s.i64(0);
}

// Unread messages that mention the user: by name, or @room/@here (counted once), not deleted,
// not their own, seq > after. As RoomSummary::unread_mentions defines it.
core::Result<std::int64_t> unread_mention_count(Conn& c, Id room_id, Id user_id,
                                                std::int64_t after) {
  PARLEY_SQL(s, c,
             "SELECT (SELECT count(*) FROM mentions x JOIN messages m ON m.id = x.message_id "
             "        WHERE x.user_id = ?3 AND x.room_id = ?1 AND x.seq > ?2 AND m.mention_flags = 0 "
             "        AND m.deleted_at = 0 AND m.sender_id <> ?3) "
             "     + (SELECT count(*) FROM messages m WHERE m.room_id = ?1 AND m.seq > ?2 "
             "        AND m.mention_flags <> 0 AND m.deleted_at = 0 AND m.sender_id <> ?3)");
  s.bind_id(1, room_id).bind(2, after).bind_id(3, user_id);
  auto row = step_one(s, "unread mentions");
  if (!row) return row.take_error();
  return s.i64(0);
}

std::string like_prefix(std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + 2);
  for (char ch : prefix) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '%';
  return out;
}

}  // namespace

// =============================================================================================
// Schema

int latest_schema_version() { return std::size(kMigrations) == 0 ? 0 : std::rbegin(kMigrations)->version; }

int schema_migration_count() { return static_cast<int>(std::size(kMigrations)); }

core::Status migrate(Conn& c, std::int64_t now_ms) {
  if (auto st = c.exec_script("BEGIN IMMEDIATE"); !st) return st;
  auto fail = [&](Error e) -> core::Status {
    (void)c.exec_script("ROLLBACK");
    return e;
  };
  if (auto st = c.exec_script(kCreateMigrationsTable); !st) return fail(st.take_error());
  // Applied versions as a set, not a maximum: migrations are numbered when work starts and may
  // land on main out of order (6 before 5), so a database may hold 1, 2, 6 and still need 5.
  std::set<std::int64_t> applied;
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(c.raw(), "SELECT version FROM schema_migrations", -1, &raw,
                                nullptr);
    if (rc != SQLITE_OK) return fail(db_error(c.raw(), rc, "read schema version"));
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) applied.insert(sqlite3_column_int64(raw, 0));
    sqlite3_finalize(raw);
    if (rc != SQLITE_DONE) return fail(db_error(c.raw(), rc, "read schema version"));
  }
  for (std::int64_t v : applied) {
    bool known = std::any_of(std::begin(kMigrations), std::end(kMigrations),
                             [v](const Migration& m) { return m.version == v; });
    if (!known) {
      return fail(make_error(Errc::kUnavailable,
                             "store: database schema version " + std::to_string(v) +
                                 " is newer than this build supports (" +
                                 std::to_string(latest_schema_version()) + ")"));
    }
  }
  for (const Migration& m : kMigrations) {
    if (applied.count(m.version) != 0) continue;
    if (auto st = c.exec_script(m.sql); !st) return fail(st.take_error());
    std::string ins = "INSERT INTO schema_migrations(version, applied_at) VALUES(" +
                      std::to_string(m.version) + ", " + std::to_string(now_ms) + ")";
    if (auto st = c.exec_script(ins.c_str()); !st) return fail(st.take_error());
  }
  // The epoch: 16 random bytes, hex, created once with the database.
  unsigned char bytes[16];
  sqlite3_randomness(sizeof bytes, bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  std::string ins = "INSERT OR IGNORE INTO meta(key, value) VALUES('epoch', '" + hex + "')";
  if (auto st = c.exec_script(ins.c_str()); !st) return fail(st.take_error());
  return c.exec_script("COMMIT");
}

core::Result<std::string> load_epoch(Conn& c) {
  PARLEY_SQL(s, c, "SELECT value FROM meta WHERE key = 'epoch'");
  auto row = step_one(s, "load epoch");
  if (!row) return row.take_error();
  if (!*row) return make_error(Errc::kInternal, "store: the database has no epoch");
  return s.text(0);
}

// =============================================================================================
// Users

core::Result<core::User> insert_user(Conn& c, const NewUser& u) {
  PARLEY_SQL(s, c,
             "INSERT INTO users(id, username, display_name, email, password_hash, role, status, "
             "created_at, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, 0)");
  std::string_view role = core::to_string(u.role);
  s.bind_id(1, u.id).bind(2, u.username).bind(3, u.display_name).bind(4, u.email)
      .bind(5, u.password_hash).bind(6, role).bind(7, u.created_at);
  if (auto st = s.exec("insert user"); !st) {
    if (st.error().code == Errc::kConflict) {
      return make_error(Errc::kConflict, "username is taken");
    }
    return st.take_error();
  }
  core::User out;
  out.id = u.id;
  out.username = u.username;
  out.display_name = u.display_name;
  out.email = u.email;
  out.password_hash = u.password_hash;
  out.role = u.role;
  out.status = core::UserStatus::kActive;
  out.created_at = u.created_at;
  return out;
}

core::Result<core::User> update_user(Conn& c, const UserUpdate& u) {
  PARLEY_SQL(s, c,
             "UPDATE users SET display_name = COALESCE(?2, display_name), "
             "email = COALESCE(?3, email), password_hash = COALESCE(?4, password_hash), "
             "role = COALESCE(?5, role), status = COALESCE(?6, status), "
             "read_receipts = COALESCE(?7, read_receipts), invisible = COALESCE(?8, invisible) "
             "WHERE id = ?1 "
             "RETURNING " USER_COLS);
  s.bind_id(1, u.id);
  if (u.display_name) s.bind(2, *u.display_name);
  if (u.email) s.bind(3, *u.email);
  if (u.password_hash) s.bind(4, *u.password_hash);
  std::string_view role, status;
  if (u.role) s.bind(5, role = core::to_string(*u.role));
  if (u.status) s.bind(6, status = core::to_string(*u.status));
  if (u.read_receipts) s.bind(7, std::int64_t{*u.read_receipts ? 1 : 0});
  if (u.invisible) s.bind(8, std::int64_t{*u.invisible ? 1 : 0});
  auto row = step_one(s, "update user");
  if (!row) return row.take_error();
  if (!*row) return not_found("user");
  return read_user(s);
}

core::Result<core::User> user_by_id(Conn& c, Id id) {
  PARLEY_SQL(s, c, "SELECT " USER_COLS " FROM users WHERE id = ?1");
  s.bind_id(1, id);
  auto row = step_one(s, "user by id");
  if (!row) return row.take_error();
  if (!*row) return not_found("user");
  return read_user(s);
}

core::Result<core::User> user_by_username(Conn& c, const std::string& username) {
  PARLEY_SQL(s, c, "SELECT " USER_COLS " FROM users WHERE username = ?1");
  s.bind(1, username);
  auto row = step_one(s, "user by username");
  if (!row) return row.take_error();
  if (!*row) return not_found("user");
  return read_user(s);
}

core::Result<std::vector<core::User>> list_users(Conn& c, const UserQuery& q) {
  int limit = std::clamp(q.limit, 1, kMaxUserListLimit);
  // LIKE is case-insensitive for ASCII letters, which is what usernames are made of.
  PARLEY_SQL(s, c,
             "SELECT " USER_COLS " FROM users WHERE id > ?1 AND (?3 IS NULL OR "
             "username LIKE ?3 ESCAPE '\\' OR display_name LIKE ?3 ESCAPE '\\') "
             "ORDER BY id LIMIT ?2");
  std::string pattern;
  s.bind_id(1, q.after_id).bind(2, limit);
  if (!q.prefix.empty()) {
    pattern = like_prefix(q.prefix);
    s.bind(3, pattern);
  }
  std::vector<core::User> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_user(s));
  if (rc != SQLITE_DONE) return step_error(s, rc, "list users");
  return out;
}

core::Result<std::int64_t> count_users(Conn& c) {
  PARLEY_SQL(s, c, "SELECT count(*) FROM users");
  auto row = step_one(s, "count users");
  if (!row) return row.take_error();
  return s.i64(0);
}

// =============================================================================================
// Sessions

core::Result<core::Session> insert_session(Conn& c, const core::Session& x) {
  PARLEY_SQL(s, c,
             "INSERT INTO sessions(id, token_hash, user_id, device, created_at, last_used, "
             "expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind_id(1, x.id).bind(2, x.token_hash).bind_id(3, x.user_id).bind(4, x.device)
      .bind(5, x.created_at).bind(6, x.last_used).bind(7, x.expires_at);
  if (auto st = s.exec("insert session"); !st) {
    if (st.error().code == Errc::kNotFound) return not_found("user");
    return st.take_error();
  }
  return x;
}

core::Result<core::Ok> touch_session(Conn& c, Id session_id, std::int64_t now) {
  PARLEY_SQL(s, c, "UPDATE sessions SET last_used = ?2 WHERE id = ?1");
  s.bind_id(1, session_id).bind(2, now);
  if (auto st = s.exec("touch session"); !st) return st;
  if (c.changes() == 0) return not_found("session");
  return core::Ok{};
}

core::Result<core::Ok> delete_session(Conn& c, Id user_id, Id session_id) {
  PARLEY_SQL(s, c, "DELETE FROM sessions WHERE id = ?1 AND user_id = ?2");
  s.bind_id(1, session_id).bind_id(2, user_id);
  if (auto st = s.exec("delete session"); !st) return st;
  if (c.changes() == 0) return not_found("session");
  return core::Ok{};
}

core::Result<std::int64_t> delete_user_sessions(Conn& c, Id user_id, Id keep) {
  PARLEY_SQL(s, c, "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2");
  s.bind_id(1, user_id).bind_id(2, keep);
  if (auto st = s.exec("delete sessions"); !st) return st.take_error();
  return c.changes();
}

core::Result<core::Session> session_by_token_hash(Conn& c, const std::string& token_hash) {
  PARLEY_SQL(s, c, "SELECT " SESSION_COLS " FROM sessions WHERE token_hash = ?1");
  s.bind(1, token_hash);
  auto row = step_one(s, "session by token");
  if (!row) return row.take_error();
  if (!*row) return not_found("session");
  return read_session(s);
}

core::Result<std::vector<core::Session>> list_sessions(Conn& c, Id user_id) {
  PARLEY_SQL(s, c, "SELECT " SESSION_COLS " FROM sessions WHERE user_id = ?1 ORDER BY id");
  s.bind_id(1, user_id);
  std::vector<core::Session> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_session(s));
  if (rc != SQLITE_DONE) return step_error(s, rc, "list sessions");
  return out;
}

// =============================================================================================
// Rooms and members

core::Result<core::Room> create_group_room(Conn& c, const NewGroupRoom& r) {
  if (auto st = require_user(c, r.created_by); !st) return st.take_error();
  std::vector<Id> others;
  std::unordered_set<Id> seen{r.created_by};
  for (Id id : r.member_ids) {
    if (!seen.insert(id).second) continue;
    if (auto st = require_user(c, id); !st) return st.take_error();
    others.push_back(id);
  }
  {
    PARLEY_SQL(s, c,
               "INSERT INTO rooms(id, kind, name, topic, created_by, created_at, last_seq, dm_key) "
               "VALUES(?1, 'group', ?2, ?3, ?4, ?5, 0, NULL)");
    s.bind_id(1, r.id).bind(2, r.name).bind(3, r.topic).bind_id(4, r.created_by)
        .bind(5, r.created_at);
    if (auto st = s.exec("insert room"); !st) return st.take_error();
  }
  if (auto st = insert_member(c, r.id, r.created_by, core::MemberRole::kOwner, r.created_at, 0);
      !st) {
    return st.take_error();
  }
  for (Id id : others) {
    if (auto st = insert_member(c, r.id, id, core::MemberRole::kMember, r.created_at, 0); !st) {
      return st.take_error();
    }
  }
  core::Room room;
  room.id = r.id;
  room.kind = core::RoomKind::kGroup;
  room.name = r.name;
  room.topic = r.topic;
  room.created_by = r.created_by;
  room.created_at = r.created_at;
  return room;
}

core::Result<DmResult> get_or_create_dm(Conn& c, Id a, Id b, Id new_room_id, std::int64_t now) {
  if (a == b) return make_error(Errc::kInvalidArgument, "a DM needs two different users");
  std::string key = std::to_string(std::min(a, b)) + ":" + std::to_string(std::max(a, b));
  {
    PARLEY_SQL(s, c, "SELECT " ROOM_COLS " FROM rooms WHERE dm_key = ?1");
    s.bind(1, key);
    auto row = step_one(s, "find dm");
    if (!row) return row.take_error();
    if (*row) return DmResult{read_room(s), false};
  }
  if (auto st = require_user(c, a); !st) return st.take_error();
  if (auto st = require_user(c, b); !st) return st.take_error();
  {
    PARLEY_SQL(s, c,
               "INSERT INTO rooms(id, kind, name, topic, created_by, created_at, last_seq, dm_key) "
               "VALUES(?1, 'dm', '', '', ?2, ?3, 0, ?4)");
    s.bind_id(1, new_room_id).bind_id(2, a).bind(3, now).bind(4, key);
    if (auto st = s.exec("insert dm"); !st) return st.take_error();
  }
  for (Id id : {a, b}) {
    if (auto st = insert_member(c, new_room_id, id, core::MemberRole::kMember, now, 0); !st) {
      return st.take_error();
    }
  }
  core::Room room;
  room.id = new_room_id;
  room.kind = core::RoomKind::kDm;
  room.created_by = a;
  room.created_at = now;
  return DmResult{std::move(room), true};
}

core::Result<core::RoomEvent> add_member(Conn& c, Id room_id, Id user_id, core::MemberRole role,
                                         Id actor, std::int64_t now) {
  auto seq = next_seq(c, room_id);  // also the "room exists" check
  if (!seq) return seq.take_error();
  if (auto st = require_user(c, user_id); !st) return st.take_error();
  // A new member has read everything before their join: only later messages count as unread.
  if (auto st = insert_member(c, room_id, user_id, role, now, *seq); !st) return st.take_error();
  core::RoomEvent e;
  e.room_id = room_id;
  e.seq = *seq;
  e.type = core::EventType::kMemberJoined;
  e.actor_id = actor;
  e.created_at = now;
  e.user_id = user_id;
  e.member_role = role;
  if (auto st = insert_event(c, e); !st) return st.take_error();
  return e;
}

core::Result<core::RoomEvent> remove_member(Conn& c, Id room_id, Id user_id, Id actor,
                                            std::int64_t now) {
  core::MemberRole role;
  {
    PARLEY_SQL(s, c, "DELETE FROM members WHERE room_id = ?1 AND user_id = ?2 RETURNING role");
    s.bind_id(1, room_id).bind_id(2, user_id);
    auto row = step_one(s, "remove member");
    if (!row) return row.take_error();
    if (!*row) return make_error(Errc::kNotFound, "not a member of the room");
    role = core::parse_member_role(s.text_view(0)).value_or(core::MemberRole::kMember);
  }
  auto seq = next_seq(c, room_id);
  if (!seq) return seq.take_error();
  {
    PARLEY_SQL(s, c,
               "INSERT INTO past_members(user_id, room_id, left_seq, left_at) "
               "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(user_id, room_id) DO UPDATE SET "
               "left_seq = max(left_seq, excluded.left_seq), left_at = excluded.left_at");
    s.bind_id(1, user_id).bind_id(2, room_id).bind(3, *seq).bind(4, now);
    if (auto st = s.exec("remember past member"); !st) return st.take_error();
  }
  core::RoomEvent e;
  e.room_id = room_id;
  e.seq = *seq;
  e.type = core::EventType::kMemberLeft;
  e.actor_id = actor;
  e.created_at = now;
  e.user_id = user_id;
  e.member_role = role;
  if (auto st = insert_event(c, e); !st) return st.take_error();
  return e;
}

core::Result<core::RoomEvent> update_room(Conn& c, Id room_id,
                                          const std::optional<std::string>& name,
                                          const std::optional<std::string>& topic, Id actor,
                                          std::int64_t now) {
  RoomChange ch;
  ch.room_id = room_id;
  ch.name = name;
  ch.topic = topic;
  ch.actor = actor;
  ch.now = now;
  return change_room(c, ch);
}

core::Result<core::RoomEvent> change_room(Conn& c, const RoomChange& ch) {
  core::RoomEvent e;
  {
    PARLEY_SQL(s, c,
               "UPDATE rooms SET name = COALESCE(?2, name), topic = COALESCE(?3, topic), "
               "pin_policy = COALESCE(?4, pin_policy), last_seq = last_seq + 1 "
               "WHERE id = ?1 RETURNING name, topic, last_seq, pin_policy");
    s.bind_id(1, ch.room_id);
    if (ch.name) s.bind(2, *ch.name);
    if (ch.topic) s.bind(3, *ch.topic);
    std::string_view policy;
    if (ch.pin_policy) s.bind(4, policy = core::to_string(*ch.pin_policy));
    auto row = step_one(s, "update room");
    if (!row) return row.take_error();
    if (!*row) return not_found("room");
    e.name = s.text(0);
    e.topic = s.text(1);
    e.seq = s.i64(2);
    e.pin_policy = core::parse_pin_policy(s.text_view(3)).value_or(core::PinPolicy::kMembers);
  }
  e.room_id = ch.room_id;
  e.type = core::EventType::kRoomUpdated;
  e.actor_id = ch.actor;
  e.created_at = ch.now;
  if (auto st = insert_event(c, e); !st) return st.take_error();
  return e;
}

core::Result<core::Room> room_by_id(Conn& c, Id room_id) {
  PARLEY_SQL(s, c, "SELECT " ROOM_COLS " FROM rooms WHERE id = ?1");
  s.bind_id(1, room_id);
  auto row = step_one(s, "room by id");
  if (!row) return row.take_error();
  if (!*row) return not_found("room");
  return read_room(s);
}

core::Result<core::Member> member(Conn& c, Id room_id, Id user_id) {
  PARLEY_SQL(s, c, "SELECT " MEMBER_COLS " FROM members WHERE room_id = ?1 AND user_id = ?2");
  s.bind_id(1, room_id).bind_id(2, user_id);
  auto row = step_one(s, "member");
  if (!row) return row.take_error();
  if (!*row) return not_found("member");
  return read_member(s);
}

core::Result<std::vector<core::Member>> list_members(Conn& c, Id room_id) {
  PARLEY_SQL(s, c,
             "SELECT " MEMBER_COLS " FROM members WHERE room_id = ?1 ORDER BY joined_at, user_id");
  s.bind_id(1, room_id);
  std::vector<core::Member> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_member(s));
  if (rc != SQLITE_DONE) return step_error(s, rc, "list members");
  return out;
}

core::Result<std::vector<core::RoomSummary>> rooms_for_user(Conn& c, Id user_id) {
  ReadTxn txn(c);
  std::vector<core::RoomSummary> out;
  {
    PARLEY_SQL(s, c,
               "SELECT r.id, r.kind, r.name, r.topic, r.created_by, r.created_at, r.last_seq, "
               "r.pin_policy, "
               "m.room_id, m.user_id, m.role, m.joined_at, m.last_read_seq, m.delivered_seq "
               "FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?1");
    s.bind_id(1, user_id);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      core::RoomSummary rs;
      rs.room = read_room(s, 0);
      rs.self = read_member(s, 8);
      out.push_back(std::move(rs));
    }
    if (rc != SQLITE_DONE) return step_error(s, rc, "rooms for user");
  }
  for (core::RoomSummary& rs : out) {
    {
      PARLEY_SQL(s, c,
                 "SELECT " MESSAGE_COLS " FROM messages WHERE room_id = ?1 AND deleted_at = 0 "
                 "AND thread_root = 0 ORDER BY seq DESC LIMIT 1");
      s.bind_id(1, rs.room.id);
      auto row = step_one(s, "last message");
      if (!row) return row.take_error();
      if (*row) rs.last_message = read_message(s);
    }
    if (rs.last_message) {
      if (auto st = load_attachments(c, *rs.last_message); !st) return st.take_error();
      if (auto st = decorate(c, *rs.last_message); !st) return st.take_error();
    }
    {
      auto n = unread_count(c, rs.room.id, user_id, rs.self.last_read_seq);
      if (!n) return n.take_error();
      rs.unread = *n;
    }
    {
      auto n = unread_mention_count(c, rs.room.id, user_id, rs.self.last_read_seq);
      if (!n) return n.take_error();
      rs.unread_mentions = *n;
    }
    if (rs.room.kind == core::RoomKind::kDm) {
      PARLEY_SQL(s, c,
                 "SELECT m.user_id, m.delivered_seq, m.last_read_seq, u.read_receipts "
                 "FROM members m JOIN users u ON u.id = m.user_id "
                 "WHERE m.room_id = ?1 AND m.user_id <> ?2");
      s.bind_id(1, rs.room.id).bind_id(2, user_id);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        rs.dm_peers.push_back(s.id(0));
        rs.peer_delivered_seq = s.i64(1);
        rs.peer_read_seq = s.i64(3) != 0 ? s.i64(2) : 0;
      }
      if (rc != SQLITE_DONE) return step_error(s, rc, "dm peers");
    }
  }
  auto activity = [](const core::RoomSummary& rs) {
    return rs.last_message ? rs.last_message->created_at : rs.room.created_at;
  };
  std::sort(out.begin(), out.end(), [&](const core::RoomSummary& x, const core::RoomSummary& y) {
    auto ax = activity(x), ay = activity(y);
    if (ax != ay) return ax > ay;
    return x.room.id > y.room.id;
  });
  return out;
}

core::Result<std::vector<RoomHead>> room_heads_for_user(Conn& c, Id user_id) {
  PARLEY_SQL(s, c,
             "SELECT r.id, r.last_seq FROM members m JOIN rooms r ON r.id = m.room_id "
             "WHERE m.user_id = ?1");
  s.bind_id(1, user_id);
  std::vector<RoomHead> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(RoomHead{s.id(0), s.i64(1)});
  if (rc != SQLITE_DONE) return step_error(s, rc, "room heads for user");
  return out;
}

// =============================================================================================
// Messages and events

namespace {

// Attaches the sender's unsent uploads to the new message m.id, in order, and returns them.
core::Status attach(Conn& c, const NewMessage& m, std::vector<core::Attachment>& out) {
  if (m.attachment_ids.size() > static_cast<std::size_t>(kMaxAttachmentsPerMessage)) {
    return make_error(Errc::kInvalidArgument,
                      "attachments: at most " + std::to_string(kMaxAttachmentsPerMessage) +
                          " per message");
  }
  int position = 0;
  for (Id id : m.attachment_ids) {
    PARLEY_SQL(s, c,
               "UPDATE attachments SET message_id = ?2, room_id = ?3, position = ?4 "
               "WHERE id = ?1 AND uploader_id = ?5 AND message_id = 0 "
               "RETURNING " ATTACHMENT_COLS);
    s.bind_id(1, id).bind_id(2, m.id).bind_id(3, m.room_id).bind(4, position)
        .bind_id(5, m.sender_id);
    auto row = step_one(s, "attach");
    if (!row) return row.take_error();
    if (*row) {
      out.push_back(read_attachment(s));
      ++position;
      continue;
    }
    // Why not: unknown and other users' uploads look alike (no probing of ids).
    PARLEY_SQL(q, c, "SELECT message_id FROM attachments WHERE id = ?1 AND uploader_id = ?2");
    q.bind_id(1, id).bind_id(2, m.sender_id);
    auto mine = step_one(q, "attachment owner");
    if (!mine) return mine.take_error();
    std::string which = "attachment " + std::to_string(id);
    if (!*mine) return make_error(Errc::kNotFound, which + " not found (not an upload of yours)");
    if (q.id(0) == m.id) {
      return make_error(Errc::kInvalidArgument, "attachments: " + which + " is listed twice");
    }
    return make_error(Errc::kConflict, which + " is already attached to another message");
  }
  return core::ok_status();
}

// Sets messages.files_text of message `id` from its attachments (names, then the blob's text,
// in position order); the FTS triggers re-index it. Decision 0017.
core::Status refresh_files_text(Conn& c, Id message_id) {
  PARLEY_SQL(s, c,
             "UPDATE messages SET files_text = COALESCE((SELECT group_concat(t, char(10)) FROM ("
             "  SELECT a.name || CASE WHEN b.text IS NULL OR b.text = '' THEN '' "
             "                        ELSE char(10) || b.text END AS t "
             "  FROM attachments a LEFT JOIN blob_texts b ON b.sha256 = a.sha256 "
             "  WHERE a.message_id = ?1 ORDER BY a.position)), '') "
             "WHERE id = ?1 AND deleted_at = 0");
  s.bind_id(1, message_id);
  return s.exec("refresh files text");
}

// Drops the stored texts of these blobs that no attachment refers to any more (a deleted
// file's words must not outlive it).
core::Status forget_blob_texts(Conn& c, const std::vector<std::string>& shas) {
  for (const std::string& sha : shas) {
    PARLEY_SQL(s, c,
               "DELETE FROM blob_texts WHERE sha256 = ?1 "
               "AND NOT EXISTS(SELECT 1 FROM attachments WHERE sha256 = ?1)");
    s.bind(1, sha);
    if (auto st = s.exec("forget blob text"); !st) return st;
  }
  return core::ok_status();
}

}  // namespace

namespace {

std::int64_t mention_flags(const core::Mentions& m) {
  return (m.room ? kMentionRoom : 0) | (m.here ? kMentionHere : 0);
}

core::Result<std::optional<core::MemberRole>> member_role(Conn& c, Id room_id, Id user_id) {
  PARLEY_SQL(s, c, "SELECT role FROM members WHERE room_id = ?1 AND user_id = ?2");
  s.bind_id(1, room_id).bind_id(2, user_id);
  auto row = step_one(s, "member role");
  if (!row) return row.take_error();
  if (!*row) return std::optional<core::MemberRole>();
  return std::optional<core::MemberRole>(
      core::parse_member_role(s.text_view(0)).value_or(core::MemberRole::kMember));
}

// Resolves what the request asks for and lets it compose the content (html "" and no mentions
// without a compose).
core::Result<MessageContent> compose_content(Conn& c, Id room_id,
                                             std::optional<core::MemberRole> role,
                                             const ContentRequest& req,
                                             const core::Mentions* previous) {
  if (!req.compose) return MessageContent{};
  if (static_cast<int>(req.mention_names.size()) > kMaxMentionNames) {
    return make_error(Errc::kInvalidArgument, "body: too many mentions");
  }
  ContentLookup look;
  look.role = role;
  look.previous = previous;
  look.user_ids.reserve(req.mention_names.size());
  for (const std::string& name : req.mention_names) {
    PARLEY_SQL(s, c,
               "SELECT u.id, EXISTS(SELECT 1 FROM members m WHERE m.room_id = ?2 AND "
               "m.user_id = u.id) FROM users u WHERE u.username = ?1 AND u.status = 'active'");
    s.bind(1, name).bind_id(2, room_id);
    auto row = step_one(s, "resolve mention");
    if (!row) return row.take_error();
    look.user_ids.push_back(*row ? s.id(0) : 0);
    look.members.push_back(*row && s.i64(1) != 0);
  }
  if (req.count_members) {
    PARLEY_SQL(s, c, "SELECT count(*) FROM members WHERE room_id = ?1");
    s.bind_id(1, room_id);
    auto row = step_one(s, "count members");
    if (!row) return row.take_error();
    look.member_count = s.i64(0);
  }
  return req.compose(look);
}

core::Status delete_mentions(Conn& c, Id message_id) {
  PARLEY_SQL(s, c, "DELETE FROM mentions WHERE message_id = ?1");
  s.bind_id(1, message_id);
  return s.exec("delete mentions");
}

core::Status insert_mentions(Conn& c, Id message_id, Id room_id, std::int64_t seq,
                             const core::Mentions& m) {
  for (Id user : m.user_ids) {
    PARLEY_SQL(s, c,
               "INSERT OR IGNORE INTO mentions(user_id, room_id, seq, message_id) "
               "VALUES(?1, ?2, ?3, ?4)");
    s.bind_id(1, user).bind_id(2, room_id).bind(3, seq).bind_id(4, message_id);
    if (auto st = s.exec("insert mention"); !st) return st;
  }
  return core::ok_status();
}

}  // namespace

core::Result<AppendResult> append_message(Conn& c, const NewMessage& m) {
  if (!m.client_txn_id.empty()) {
    PARLEY_SQL(s, c,
               "SELECT " MESSAGE_COLS " FROM messages WHERE sender_id = ?1 AND client_txn_id = ?2");
    s.bind_id(1, m.sender_id).bind(2, m.client_txn_id);
    auto row = step_one(s, "find txn");
    if (!row) return row.take_error();
    if (*row) {
      core::Message orig = read_message(s);
      if (auto st = load_attachments(c, orig); !st) return st.take_error();
      std::int64_t seq = orig.seq, at = orig.created_at;
      Id sender = orig.sender_id;
      AppendResult dup{
          message_event(core::EventType::kMessageCreated, seq, sender, at, std::move(orig)), true};
      if (auto st = decorate(c, dup.event); !st) return st.take_error();
      return dup;
    }
  }
  std::optional<core::MemberRole> role;
  {
    PARLEY_SQL(s, c,
               "SELECT EXISTS(SELECT 1 FROM rooms WHERE id = ?1), "
               "(SELECT role FROM members WHERE room_id = ?1 AND user_id = ?2)");
    s.bind_id(1, m.room_id).bind_id(2, m.sender_id);
    auto row = step_one(s, "check membership");
    if (!row) return row.take_error();
    if (s.i64(0) == 0) return not_found("room");
    if (!s.is_null(1)) {
      role = core::parse_member_role(s.text_view(1)).value_or(core::MemberRole::kMember);
    }
    if (m.authorize) {
      if (auto st = m.authorize(role); !st) return st.take_error();
    } else if (!role) {
      return make_error(Errc::kForbidden, "not a member of the room");
    }
  }
  if (m.reply_to != 0) {
    PARLEY_SQL(s, c, "SELECT room_id FROM messages WHERE id = ?1");
    s.bind_id(1, m.reply_to);
    auto row = step_one(s, "check reply_to");
    if (!row) return row.take_error();
    if (!*row || s.id(0) != m.room_id) {
      return make_error(Errc::kInvalidArgument, "reply_to: not a message of this room");
    }
  }
  Id root_author = 0;
  if (m.thread_root != 0) {
    PARLEY_SQL(s, c, "SELECT room_id, thread_root, deleted_at, sender_id FROM messages WHERE id = ?1");
    s.bind_id(1, m.thread_root);
    auto row = step_one(s, "check thread_root");
    if (!row) return row.take_error();
    if (!*row || s.id(0) != m.room_id || s.id(1) != 0 || s.i64(2) != 0) {
      return make_error(Errc::kInvalidArgument,
                        "thread_root: not a live root message of this room (a thread reply "
                        "cannot start a thread)");
    }
    root_author = s.id(3);
  }
  auto content = compose_content(c, m.room_id, role, m.content, nullptr);
  if (!content) return content.take_error();
  auto seq = next_seq(c, m.room_id);
  if (!seq) return seq.take_error();
  {
    PARLEY_SQL(s, c,
               "INSERT INTO messages(id, room_id, seq, sender_id, client_txn_id, body, reply_to, "
               "created_at, edited_at, deleted_at, thread_root, html, mention_ids, mention_flags) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, ?9, ?10, ?11, ?12)");
    s.bind_id(1, m.id).bind_id(2, m.room_id).bind(3, *seq).bind_id(4, m.sender_id);
    if (!m.client_txn_id.empty()) s.bind(5, m.client_txn_id);
    std::string ids = encode_ids(content->mentions.user_ids);
    s.bind(6, m.body).bind_id(7, m.reply_to).bind(8, m.created_at).bind_id(9, m.thread_root)
        .bind(10, content->html).bind(11, ids).bind(12, mention_flags(content->mentions));
    if (auto st = s.exec("insert message"); !st) return st.take_error();
  }
  if (auto st = insert_mentions(c, m.id, m.room_id, *seq, content->mentions); !st) {
    return st.take_error();
  }
  if (m.thread_root != 0) {
    if (auto st = refresh_thread(c, m.thread_root); !st) return st.take_error();
    if (auto st = follow_on_reply(c, m, *seq, root_author); !st) return st.take_error();
  }
  core::Message msg;
  msg.id = m.id;
  msg.room_id = m.room_id;
  msg.seq = *seq;
  msg.sender_id = m.sender_id;
  msg.client_txn_id = m.client_txn_id;
  msg.body = m.body;
  msg.reply_to = m.reply_to;
  msg.created_at = m.created_at;
  msg.html = std::move(content->html);
  msg.mentions = std::move(content->mentions);
  if (auto st = attach(c, m, msg.attachments); !st) return st.take_error();
  if (!msg.attachments.empty()) {
    if (auto st = refresh_files_text(c, m.id); !st) return st.take_error();
  }
  msg.thread_root = m.thread_root;
  AppendResult out{message_event(core::EventType::kMessageCreated, *seq, m.sender_id,
                                 m.created_at, std::move(msg)),
                   false};
  if (auto st = insert_event(c, out.event); !st) return st.take_error();
  if (auto st = decorate(c, out.event); !st) return st.take_error();
  return out;
}

core::Result<core::RoomEvent> edit_message(Conn& c, const MessageEdit& x) {
  const Id room_id = x.room_id, message_id = x.message_id, actor = x.actor;
  const std::int64_t now = x.now;
  auto m = changeable_message(c, room_id, message_id, x.only_sender);
  if (!m) return m.take_error();
  std::optional<core::MemberRole> role;
  if (x.content.compose) {
    auto r = member_role(c, room_id, actor);
    if (!r) return r.take_error();
    role = *r;
  }
  auto content = compose_content(c, room_id, role, x.content, &m->mentions);
  if (!content) return content.take_error();
  if (auto st = save_revision(c, *m, now); !st) return st.take_error();
  {
    PARLEY_SQL(s, c,
               "UPDATE messages SET body = ?2, edited_at = ?3, html = ?4, mention_ids = ?5, "
               "mention_flags = ?6 WHERE id = ?1");
    std::string ids = encode_ids(content->mentions.user_ids);
    s.bind_id(1, message_id).bind(2, x.body).bind(3, now).bind(4, content->html).bind(5, ids)
        .bind(6, mention_flags(content->mentions));
    if (auto st = s.exec("edit message"); !st) return st.take_error();
  }
  if (auto st = delete_mentions(c, message_id); !st) return st.take_error();
  if (auto st = insert_mentions(c, message_id, room_id, m->seq, content->mentions); !st) {
    return st.take_error();
  }
  auto seq = next_seq(c, room_id);
  if (!seq) return seq.take_error();
  m->body = x.body;
  m->edited_at = now;
  m->edit_count += 1;
  m->html = std::move(content->html);
  m->mentions = std::move(content->mentions);
  auto e = message_event(core::EventType::kMessageUpdated, *seq, actor, now, std::move(*m));
  if (auto st = insert_event(c, e); !st) return st.take_error();
  if (auto st = decorate(c, e); !st) return st.take_error();
  return e;
}

core::Result<core::RoomEvent> delete_message(Conn& c, Id room_id, Id message_id, Id only_sender,
                                             Id actor, std::int64_t now) {
  auto m = changeable_message(c, room_id, message_id, only_sender);
  if (!m) return m.take_error();
  {
    PARLEY_SQL(s, c,
               "UPDATE messages SET body = '', html = '', mention_ids = '', mention_flags = 0, "
               "files_text = '', deleted_at = ?2 WHERE id = ?1");
    s.bind_id(1, message_id).bind(2, now);
    if (auto st = s.exec("delete message"); !st) return st.take_error();
  }
  if (auto st = delete_mentions(c, message_id); !st) return st.take_error();
  m->html.clear();
  m->mentions = {};
  {
    // The blobs go with the sweeper once no other attachment refers to them.
    PARLEY_SQL(s, c, "DELETE FROM attachments WHERE message_id = ?1 RETURNING sha256");
    s.bind_id(1, message_id);
    std::vector<std::string> shas;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) shas.push_back(s.text(0));
    if (rc != SQLITE_DONE) return step_error(s, rc, "delete attachments");
    if (auto st = forget_blob_texts(c, shas); !st) return st.take_error();
  }
  m->attachments.clear();
  if (auto st = forget_deleted(c, *m); !st) return st.take_error();
  auto seq = next_seq(c, room_id);
  if (!seq) return seq.take_error();
  m->body.clear();
  m->deleted_at = now;
  auto e = message_event(core::EventType::kMessageDeleted, *seq, actor, now, std::move(*m));
  if (auto st = insert_event(c, e); !st) return st.take_error();
  if (auto st = decorate(c, e); !st) return st.take_error();
  return e;
}

core::Result<core::Message> message_by_id(Conn& c, Id message_id) {
  ReadTxn txn(c);
  auto m = load_message(c, message_id);
  if (!m) return m;
  if (auto st = decorate(c, *m); !st) return st.take_error();
  return m;
}

core::Result<std::vector<core::Message>> history(Conn& c, const HistoryQuery& q) {
  int limit = std::clamp(q.limit, 1, kMaxHistoryLimit);
  ReadTxn txn(c);
  Id cursor = q.before != 0 ? q.before : q.after != 0 ? q.after : q.around;
  std::int64_t cursor_seq = 0;
  if (cursor != 0) {
    PARLEY_SQL(s, c, "SELECT seq, thread_root FROM messages WHERE id = ?1 AND room_id = ?2");
    s.bind_id(1, cursor).bind_id(2, q.room_id);
    auto row = step_one(s, "history cursor");
    if (!row) return row.take_error();
    if (!*row) return not_found("message");
    if (q.thread_root != 0 && s.id(1) != q.thread_root) return not_found("message");
    cursor_seq = s.i64(0);
  }
  // The room's timeline leaves thread replies out; a thread's page has only its replies.
  const bool thread = q.thread_root != 0;
  std::vector<core::Message> out;
  auto collect = [&](Stmt& s) -> core::Status {
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_message(s));
    if (rc != SQLITE_DONE) return step_error(s, rc, "history");
    return core::ok_status();
  };
  // Newest `n` messages with seq < below, appended in ascending order.
  auto older = [&](std::int64_t below, int n) -> core::Status {
    std::size_t first = out.size();
    if (thread) {
      PARLEY_SQL(s, c,
                 "SELECT " MESSAGE_COLS " FROM messages WHERE thread_root = ?1 "
                 "AND thread_root <> 0 AND seq < ?2 ORDER BY seq DESC LIMIT ?3");
      s.bind_id(1, q.thread_root).bind(2, below).bind(3, n);
      if (auto st = collect(s); !st) return st;
    } else {
      PARLEY_SQL(s, c,
                 "SELECT " MESSAGE_COLS " FROM messages WHERE room_id = ?1 AND seq < ?2 "
                 "AND thread_root = 0 ORDER BY seq DESC LIMIT ?3");
      s.bind_id(1, q.room_id).bind(2, below).bind(3, n);
      if (auto st = collect(s); !st) return st;
    }
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    return core::ok_status();
  };
  // Oldest `n` messages with seq >= from, ascending.
  auto newer = [&](std::int64_t from, int n) -> core::Status {
    if (thread) {
      PARLEY_SQL(s, c,
                 "SELECT " MESSAGE_COLS " FROM messages WHERE thread_root = ?1 "
                 "AND thread_root <> 0 AND seq >= ?2 ORDER BY seq ASC LIMIT ?3");
      s.bind_id(1, q.thread_root).bind(2, from).bind(3, n);
      return collect(s);
    }
    PARLEY_SQL(s, c,
               "SELECT " MESSAGE_COLS " FROM messages WHERE room_id = ?1 AND seq >= ?2 "
               "AND thread_root = 0 ORDER BY seq ASC LIMIT ?3");
    s.bind_id(1, q.room_id).bind(2, from).bind(3, n);
    return collect(s);
  };
  core::Status st = core::ok_status();
  if (q.before != 0) {
    st = older(cursor_seq, limit);
  } else if (q.after != 0) {
    st = newer(cursor_seq + 1, limit);
  } else if (q.around != 0) {
    int before_n = limit / 2;
    if (before_n > 0) st = older(cursor_seq, before_n);
    if (st) st = newer(cursor_seq, limit - before_n);
  } else {
    st = older(INT64_MAX, limit);
  }
  if (!st) return st.take_error();
  // Reactions per message, emoji in the order they first appeared.
  for (core::Message& m : out) {
    if (m.deleted_at != 0) continue;
    if (auto st = load_attachments(c, m); !st) return st.take_error();
    PARLEY_SQL(r, c,
               "SELECT emoji, count(*) FROM reactions WHERE message_id = ?1 "
               "GROUP BY emoji ORDER BY min(created_at), emoji");
    r.bind_id(1, m.id);
    int rc;
    while ((rc = r.step()) == SQLITE_ROW) m.reactions.push_back({r.text(0), r.i64(1)});
    if (rc != SQLITE_DONE) return step_error(r, rc, "reactions");
  }
  for (core::Message& m : out) {
    if (auto st2 = decorate(c, m); !st2) return st2.take_error();
  }
  return out;
}

core::Result<std::vector<core::RoomEvent>> events_since(Conn& c, Id room_id,
                                                        std::int64_t after_seq, int limit) {
  limit = std::clamp(limit, 1, kMaxEventsLimit);
  ReadTxn txn(c);
  PARLEY_SQL(s, c,
             "SELECT e.seq, e.type, e.actor_id, e.created_at, e.user_id, e.member_role, e.name, "
             "e.topic, e.message_id, e.emoji, e.count, e.pin_policy, " MESSAGE_COLS_M " "
             "FROM events e LEFT JOIN messages m ON m.id = e.message_id "
             "WHERE e.room_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3");
  s.bind_id(1, room_id).bind(2, after_seq).bind(3, limit);
  std::vector<core::RoomEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    core::RoomEvent e;
    e.room_id = room_id;
    e.seq = s.i64(0);
    e.type = parse_event_type(s.text_view(1));
    e.actor_id = s.id(2);
    e.created_at = s.i64(3);
    if (!s.is_null(4)) e.user_id = s.id(4);
    if (!s.is_null(5)) {
      e.member_role = core::parse_member_role(s.text_view(5)).value_or(core::MemberRole::kMember);
    }
    e.name = s.text(6);
    e.topic = s.text(7);
    if (!s.is_null(11)) {
      e.pin_policy = core::parse_pin_policy(s.text_view(11)).value_or(core::PinPolicy::kMembers);
    }
    if (e.type == core::EventType::kReactionAdded || e.type == core::EventType::kReactionRemoved) {
      e.target_id = s.id(8);
      e.emoji = s.text(9);
      e.count = s.i64(10);
    } else if (!s.is_null(8) && !s.is_null(12)) {
      if (e.type == core::EventType::kMessagePinned ||
          e.type == core::EventType::kMessageUnpinned) {
        e.target_id = s.id(8);
      }
      e.message = read_message(s, 12);
    }
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return step_error(s, rc, "events since");
  for (core::RoomEvent& e : out) {
    if (!e.message) continue;
    if (auto st = load_attachments(c, *e.message); !st) return st.take_error();
    if (auto st = decorate(c, e); !st) return st.take_error();
  }
  return out;
}

// =============================================================================================
// Read state, receipts, reactions, last seen

namespace {

}  // namespace

core::Result<core::ReadState> update_read_state(Conn& c, const ReadUpdate& u) {
  core::ReadState out;
  out.room_id = u.room_id;
  out.user_id = u.user_id;
  std::int64_t last_seq = 0;
  {
    PARLEY_SQL(s, c,
               "SELECT m.last_read_seq, m.delivered_seq, r.last_seq, r.kind, us.read_receipts "
               "FROM members m JOIN rooms r ON r.id = m.room_id JOIN users us ON us.id = m.user_id "
               "WHERE m.room_id = ?1 AND m.user_id = ?2");
    s.bind_id(1, u.room_id).bind_id(2, u.user_id);
    auto row = step_one(s, "read state");
    if (!row) return row.take_error();
    if (!*row) return not_found("member");
    out.last_read_seq = s.i64(0);
    out.delivered_seq = s.i64(1);
    last_seq = s.i64(2);
    out.room_kind = parse_kind(s.text_view(3));
    out.read_receipts = s.i64(4) != 0;
  }
  for (std::int64_t v : {u.read_seq, u.delivered_seq}) {
    if (v > last_seq) {
      return make_error(Errc::kInvalidArgument,
                        "seq: beyond the room's last_seq (" + std::to_string(last_seq) + ")");
    }
  }
  if (u.read_seq < -1 || u.delivered_seq < -1) {
    return make_error(Errc::kInvalidArgument, "seq: must be >= 0");
  }
  std::int64_t read = out.last_read_seq;
  if (u.read_seq >= 0) {
    if (u.mode == ReadMode::kForward && u.read_seq < out.last_read_seq) {
      return make_error(Errc::kConflict, "read marker is already at seq " +
                                             std::to_string(out.last_read_seq) +
                                             "; it only moves forward (use mark unread)");
    }
    read = u.read_seq;
  }
  std::int64_t delivered = std::max({out.delivered_seq, u.delivered_seq, read});
  out.read_changed = read != out.last_read_seq;
  out.delivered_changed = delivered != out.delivered_seq;
  if (out.read_changed || out.delivered_changed) {
    PARLEY_SQL(s, c,
               "UPDATE members SET last_read_seq = ?3, delivered_seq = ?4 "
               "WHERE room_id = ?1 AND user_id = ?2");
    s.bind_id(1, u.room_id).bind_id(2, u.user_id).bind(3, read).bind(4, delivered);
    if (auto st = s.exec("update read state"); !st) return st.take_error();
  }
  out.last_read_seq = read;
  out.delivered_seq = delivered;
  auto unread = unread_count(c, u.room_id, u.user_id, read);
  if (!unread) return unread.take_error();
  out.unread = *unread;
  auto mentions = unread_mention_count(c, u.room_id, u.user_id, read);
  if (!mentions) return mentions.take_error();
  out.unread_mentions = *mentions;
  return out;
}

core::Result<std::vector<core::ReadState>> mark_all_read(Conn& c, Id user_id) {
  std::vector<core::ReadState> out;
  {
    PARLEY_SQL(s, c,
               "UPDATE members SET last_read_seq = r.last_seq, "
               "delivered_seq = max(members.delivered_seq, r.last_seq) "
               "FROM rooms r WHERE r.id = members.room_id AND members.user_id = ?1 "
               "AND members.last_read_seq < r.last_seq "
               "RETURNING room_id, last_read_seq, delivered_seq");
    s.bind_id(1, user_id);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      core::ReadState st;
      st.room_id = s.id(0);
      st.user_id = user_id;
      st.last_read_seq = s.i64(1);
      st.delivered_seq = s.i64(2);
      st.read_changed = true;
      st.delivered_changed = true;  // may already have been there; harmless for receipts
      out.push_back(std::move(st));
    }
    if (rc != SQLITE_DONE) return step_error(s, rc, "mark all read");
  }
  bool receipts = true;
  {
    PARLEY_SQL(s, c, "SELECT read_receipts FROM users WHERE id = ?1");
    s.bind_id(1, user_id);
    auto row = step_one(s, "read receipts setting");
    if (!row) return row.take_error();
    if (*row) receipts = s.i64(0) != 0;
  }
  for (core::ReadState& st : out) {
    st.read_receipts = receipts;
    {
      PARLEY_SQL(k, c, "SELECT kind FROM rooms WHERE id = ?1");
      k.bind_id(1, st.room_id);
      auto row = step_one(k, "room kind");
      if (!row) return row.take_error();
      if (*row) st.room_kind = parse_kind(k.text_view(0));
    }
    auto unread = unread_count(c, st.room_id, user_id, st.last_read_seq);
    if (!unread) return unread.take_error();
    st.unread = *unread;
    auto mentions = unread_mention_count(c, st.room_id, user_id, st.last_read_seq);
    if (!mentions) return mentions.take_error();
    st.unread_mentions = *mentions;
  }
  std::sort(out.begin(), out.end(),
            [](const core::ReadState& a, const core::ReadState& b) { return a.room_id < b.room_id; });
  return out;
}

core::Result<core::MessageReceipts> message_receipts(Conn& c, Id room_id, std::int64_t seq,
                                                     Id sender_id) {
  PARLEY_SQL(s, c,
             "SELECT m.user_id, m.last_read_seq >= ?2 AND u.read_receipts <> 0, "
             "m.delivered_seq >= ?2 OR m.last_read_seq >= ?2 "
             "FROM members m JOIN users u ON u.id = m.user_id "
             "WHERE m.room_id = ?1 AND m.user_id <> ?3 ORDER BY m.user_id");
  s.bind_id(1, room_id).bind(2, seq).bind_id(3, sender_id);
  core::MessageReceipts out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (s.i64(1) != 0) out.read_by.push_back(s.id(0));
    if (s.i64(2) != 0) out.delivered_to.push_back(s.id(0));
  }
  if (rc != SQLITE_DONE) return step_error(s, rc, "receipts");
  return out;
}

core::Result<ReactionResult> set_reaction(Conn& c, const ReactionUpdate& u) {
  if (auto st = require_member(c, u.room_id, u.user_id); !st) return st.take_error();
  auto m = changeable_message(c, u.room_id, u.message_id, /*only_sender=*/0);
  if (!m) return m.take_error();
  if (u.add) {
    PARLEY_SQL(s, c,
               "SELECT count(DISTINCT emoji), sum(emoji = ?2) FROM reactions WHERE message_id = ?1");
    s.bind_id(1, u.message_id).bind(2, u.emoji);
    auto row = step_one(s, "reaction kinds");
    if (!row) return row.take_error();
    if (s.i64(1) == 0 && s.i64(0) >= kMaxReactionKinds) {
      return make_error(Errc::kInvalidArgument,
                        "emoji: a message has at most " + std::to_string(kMaxReactionKinds) +
                            " different reactions");
    }
  }
  if (u.add) {
    PARLEY_SQL(s, c,
               "INSERT OR IGNORE INTO reactions(message_id, emoji, user_id, room_id, created_at) "
               "VALUES(?1, ?2, ?3, ?4, ?5)");
    s.bind_id(1, u.message_id).bind(2, u.emoji).bind_id(3, u.user_id).bind_id(4, u.room_id)
        .bind(5, u.now);
    if (auto st = s.exec("add reaction"); !st) return st.take_error();
  } else {
    PARLEY_SQL(s, c, "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3");
    s.bind_id(1, u.message_id).bind(2, u.emoji).bind_id(3, u.user_id);
    if (auto st = s.exec("remove reaction"); !st) return st.take_error();
  }
  if (c.changes() == 0) return ReactionResult{};
  std::int64_t count = 0;
  {
    PARLEY_SQL(s, c, "SELECT count(*) FROM reactions WHERE message_id = ?1 AND emoji = ?2");
    s.bind_id(1, u.message_id).bind(2, u.emoji);
    auto row = step_one(s, "reaction count");
    if (!row) return row.take_error();
    count = s.i64(0);
  }
  auto seq = next_seq(c, u.room_id);
  if (!seq) return seq.take_error();
  ReactionResult out;
  out.changed = true;
  core::RoomEvent& e = out.event;
  e.room_id = u.room_id;
  e.seq = *seq;
  e.type = u.add ? core::EventType::kReactionAdded : core::EventType::kReactionRemoved;
  e.actor_id = u.user_id;
  e.created_at = u.now;
  e.user_id = u.user_id;
  e.target_id = u.message_id;
  e.emoji = u.emoji;
  e.count = count;
  if (auto st = insert_event(c, e); !st) return st.take_error();
  return out;
}

core::Result<core::Ok> set_last_seen(Conn& c, Id user_id, std::int64_t at) {
  PARLEY_SQL(s, c, "UPDATE users SET last_seen = max(last_seen, ?2) WHERE id = ?1");
  s.bind_id(1, user_id).bind(2, at);
  if (auto st = s.exec("set last seen"); !st) return st.take_error();
  if (c.changes() == 0) return not_found("user");
  return core::Ok{};
}

// =============================================================================================
// Pins, threads, edit history

core::Result<PinResult> set_pin(Conn& c, const PinUpdate& u) {
  if (auto st = require_member(c, u.room_id, u.user_id); !st) return st.take_error();
  auto m = changeable_message(c, u.room_id, u.message_id, /*only_sender=*/0);
  if (!m) return m.take_error();
  if (u.pin) {
    PARLEY_SQL(s, c,
               "SELECT count(*), sum(message_id = ?2) FROM pins WHERE room_id = ?1");
    s.bind_id(1, u.room_id).bind_id(2, u.message_id);
    auto row = step_one(s, "pin count");
    if (!row) return row.take_error();
    if (s.i64(1) == 0 && s.i64(0) >= kMaxPinsPerRoom) {
      return make_error(Errc::kInvalidArgument,
                        "message_id: a room has at most " + std::to_string(kMaxPinsPerRoom) +
                            " pinned messages; unpin one first");
    }
  }
  if (u.pin) {
    PARLEY_SQL(s, c,
               "INSERT OR IGNORE INTO pins(room_id, message_id, pinned_by, pinned_at) "
               "VALUES(?1, ?2, ?3, ?4)");
    s.bind_id(1, u.room_id).bind_id(2, u.message_id).bind_id(3, u.user_id).bind(4, u.now);
    if (auto st = s.exec("pin"); !st) return st.take_error();
  } else {
    PARLEY_SQL(s, c, "DELETE FROM pins WHERE room_id = ?1 AND message_id = ?2");
    s.bind_id(1, u.room_id).bind_id(2, u.message_id);
    if (auto st = s.exec("unpin"); !st) return st.take_error();
  }
  if (c.changes() == 0) return PinResult{};
  auto seq = next_seq(c, u.room_id);
  if (!seq) return seq.take_error();
  PinResult out;
  out.changed = true;
  out.event = message_event(u.pin ? core::EventType::kMessagePinned
                                  : core::EventType::kMessageUnpinned,
                            *seq, u.user_id, u.now, std::move(*m));
  out.event.target_id = u.message_id;
  if (auto st = insert_event(c, out.event); !st) return st.take_error();
  if (auto st = decorate(c, out.event); !st) return st.take_error();
  return out;
}

core::Result<std::vector<core::Pin>> list_pins(Conn& c, Id room_id) {
  ReadTxn txn(c);
  PARLEY_SQL(s, c,
             "SELECT p.pinned_by, p.pinned_at, " MESSAGE_COLS_M " FROM pins p "
             "JOIN messages m ON m.id = p.message_id "
             "WHERE p.room_id = ?1 AND m.deleted_at = 0 "
             "ORDER BY p.pinned_at DESC, p.message_id DESC LIMIT ?2");
  s.bind_id(1, room_id).bind(2, kMaxPinsPerRoom);
  std::vector<core::Pin> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    core::Pin p;
    p.pinned_by = s.id(0);
    p.pinned_at = s.i64(1);
    p.message = read_message(s, 2);
    out.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return step_error(s, rc, "list pins");
  for (core::Pin& p : out) {
    if (auto st = load_attachments(c, p.message); !st) return st.take_error();
    if (auto st = decorate(c, p.message); !st) return st.take_error();
  }
  return out;
}

namespace {

// Live replies by others than `user_id` after `after_seq` in the thread.
core::Result<std::int64_t> thread_unread(Conn& c, Id root_id, Id user_id, std::int64_t after_seq) {
  PARLEY_SQL(s, c,
             "SELECT count(*) FROM messages WHERE thread_root = ?1 AND thread_root <> 0 "
             "AND seq > ?2 AND deleted_at = 0 AND sender_id <> ?3");
  s.bind_id(1, root_id).bind(2, after_seq).bind_id(3, user_id);
  auto row = step_one(s, "thread unread");
  if (!row) return row.take_error();
  return s.i64(0);
}

}  // namespace

core::Result<bool> set_thread_follow(Conn& c, const FollowUpdate& u) {
  if (auto st = require_member(c, u.room_id, u.user_id); !st) return st.take_error();
  auto root = load_message(c, u.root_id);
  if (!root) return root.take_error();
  // Unfollowing the thread of a since deleted root is allowed; following it is not.
  if (root->room_id != u.room_id || root->thread_root != 0 ||
      (u.follow && root->deleted_at != 0)) {
    return not_found("thread");
  }
  PARLEY_SQL(s, c,
             "INSERT INTO thread_follows(user_id, root_id, room_id, following, last_read_seq, "
             "updated_at) VALUES(?1, ?2, ?3, ?4, "
             "(SELECT COALESCE(max(seq), 0) FROM messages WHERE thread_root = ?2 "
             "AND thread_root <> 0), ?5) "
             "ON CONFLICT(user_id, root_id) DO UPDATE SET following = excluded.following, "
             "updated_at = excluded.updated_at");
  s.bind_id(1, u.user_id).bind_id(2, u.root_id).bind_id(3, u.room_id)
      .bind(4, std::int64_t{u.follow ? 1 : 0}).bind(5, u.now);
  if (auto st = s.exec("set thread follow"); !st) return st.take_error();
  return u.follow;
}

core::Result<bool> thread_follow(Conn& c, Id root_id, Id user_id) {
  PARLEY_SQL(s, c, "SELECT following FROM thread_follows WHERE user_id = ?1 AND root_id = ?2");
  s.bind_id(1, user_id).bind_id(2, root_id);
  auto row = step_one(s, "thread follow");
  if (!row) return row.take_error();
  return *row && s.i64(0) != 0;
}

core::Result<std::vector<core::FollowedThread>> list_followed_threads(Conn& c, Id user_id,
                                                                      int limit) {
  limit = std::clamp(limit, 1, kMaxFollowedThreadsLimit);
  ReadTxn txn(c);
  PARLEY_SQL(s, c,
             "SELECT f.room_id, f.last_read_seq, " MESSAGE_COLS_M " FROM thread_follows f "
             "JOIN messages m ON m.id = f.root_id "
             "JOIN members mb ON mb.room_id = f.room_id AND mb.user_id = f.user_id "
             "WHERE f.user_id = ?1 AND f.following = 1 AND m.deleted_at = 0 "
             "ORDER BY max(m.thread_last_at, m.created_at) DESC, m.id DESC LIMIT ?2");
  s.bind_id(1, user_id).bind(2, limit);
  std::vector<core::FollowedThread> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    core::FollowedThread t;
    t.room_id = s.id(0);
    t.last_read_seq = s.i64(1);
    t.root = read_message(s, 2);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return step_error(s, rc, "followed threads");
  for (core::FollowedThread& t : out) {
    if (auto st = load_attachments(c, t.root); !st) return st.take_error();
    if (auto st = decorate(c, t.root); !st) return st.take_error();
    auto unread = thread_unread(c, t.root.id, user_id, t.last_read_seq);
    if (!unread) return unread.take_error();
    t.unread = *unread;
  }
  return out;
}

core::Result<core::FollowedThread> mark_thread_read(Conn& c, Id root_id, Id user_id,
                                                    std::int64_t seq) {
  core::FollowedThread t;
  {
    PARLEY_SQL(s, c,
               "SELECT room_id, last_read_seq FROM thread_follows "
               "WHERE user_id = ?1 AND root_id = ?2 AND following = 1");
    s.bind_id(1, user_id).bind_id(2, root_id);
    auto row = step_one(s, "thread read state");
    if (!row) return row.take_error();
    if (!*row) return make_error(Errc::kNotFound, "not following this thread");
    t.room_id = s.id(0);
    t.last_read_seq = s.i64(1);
  }
  std::int64_t newest = 0;
  {
    PARLEY_SQL(s, c,
               "SELECT COALESCE(max(seq), 0) FROM messages WHERE thread_root = ?1 "
               "AND thread_root <> 0");
    s.bind_id(1, root_id);
    auto row = step_one(s, "newest reply");
    if (!row) return row.take_error();
    newest = s.i64(0);
  }
  if (seq < -1) return make_error(Errc::kInvalidArgument, "seq: must be >= 0");
  if (seq > newest) {
    return make_error(Errc::kInvalidArgument,
                      "seq: beyond the thread's newest reply (" + std::to_string(newest) + ")");
  }
  const std::int64_t read = std::max(t.last_read_seq, seq == -1 ? newest : seq);
  if (read != t.last_read_seq) {
    PARLEY_SQL(s, c,
               "UPDATE thread_follows SET last_read_seq = ?3 WHERE user_id = ?1 AND root_id = ?2");
    s.bind_id(1, user_id).bind_id(2, root_id).bind(3, read);
    if (auto st = s.exec("mark thread read"); !st) return st.take_error();
  }
  t.last_read_seq = read;
  auto root = load_message(c, root_id);
  if (!root) return root.take_error();
  t.root = std::move(*root);
  if (auto st = decorate(c, t.root); !st) return st.take_error();
  auto unread = thread_unread(c, root_id, user_id, read);
  if (!unread) return unread.take_error();
  t.unread = *unread;
  return t;
}

core::Result<std::vector<core::MessageRevision>> message_revisions(Conn& c, Id message_id) {
  ReadTxn txn(c);
  auto m = load_message(c, message_id);
  if (!m) return m.take_error();
  if (m->deleted_at != 0) return not_found("message");
  PARLEY_SQL(s, c,
             "SELECT rev, body, written_at, replaced_at FROM message_revisions "
             "WHERE message_id = ?1 ORDER BY rev DESC");
  s.bind_id(1, message_id);
  std::vector<core::MessageRevision> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(core::MessageRevision{s.i64(0), s.text(1), s.i64(2), s.i64(3)});
  }
  if (rc != SQLITE_DONE) return step_error(s, rc, "revisions");
  return out;
}

}  // namespace parley::store::sqlite_internal

namespace parley::store::sqlite_internal {

// =============================================================================================
// Attachments and uploads

namespace {

core::Result<std::int64_t> used_bytes(Conn& c, Id user_id, Id except_upload) {
  PARLEY_SQL(s, c,
             "SELECT (SELECT COALESCE(sum(size), 0) FROM attachments WHERE uploader_id = ?1) + "
             "(SELECT COALESCE(sum(size), 0) FROM uploads WHERE user_id = ?1 AND id <> ?2)");
  s.bind_id(1, user_id).bind_id(2, except_upload);
  auto row = step_one(s, "storage used");
  if (!row) return row.take_error();
  return s.i64(0);
}

core::Status check_quota(Conn& c, Id user_id, Id except_upload, std::int64_t adding,
                         std::int64_t quota) {
  if (quota <= 0) return core::ok_status();
  auto used = used_bytes(c, user_id, except_upload);
  if (!used) return used.take_error();
  if (*used + adding > quota) {
    return make_error(Errc::kQuotaExceeded,
                      "storage quota exceeded: " + std::to_string(*used) + " of " +
                          std::to_string(quota) + " bytes used, this file needs " +
                          std::to_string(adding));
  }
  return core::ok_status();
}

}  // namespace

core::Result<core::Attachment> insert_attachment(Conn& c, const NewAttachment& n) {
  const core::Attachment& a = n.attachment;
  if (a.message_id != 0 || a.room_id != 0) {
    return make_error(Errc::kInvalidArgument, "a new attachment is unsent");
  }
  if (n.upload_id != 0) {
    PARLEY_SQL(s, c, "DELETE FROM uploads WHERE id = ?1 AND user_id = ?2");
    s.bind_id(1, n.upload_id).bind_id(2, a.uploader_id);
    if (auto st = s.exec("complete upload"); !st) return st.take_error();
    if (c.changes() == 0) return not_found("upload");
  }
  if (auto st = check_quota(c, a.uploader_id, 0, a.size, n.quota); !st) return st.take_error();
  PARLEY_SQL(s, c,
             "INSERT INTO attachments(id, uploader_id, message_id, room_id, position, name, mime, "
             "kind, size, sha256, width, height, thumb_key, preview_key, created_at) "
             "VALUES(?1, ?2, 0, 0, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  std::string_view kind = core::to_string(a.kind);
  s.bind_id(1, a.id).bind_id(2, a.uploader_id).bind(3, a.name).bind(4, a.mime).bind(5, kind)
      .bind(6, a.size).bind(7, a.sha256).bind(8, std::int64_t{a.width})
      .bind(9, std::int64_t{a.height}).bind(10, a.thumb_key).bind(11, a.preview_key)
      .bind(12, a.created_at);
  if (auto st = s.exec("insert attachment"); !st) {
    if (st.error().code == Errc::kNotFound) return not_found("user");
    return st.take_error();
  }
  core::Attachment out = a;
  out.position = 0;
  return out;
}

core::Result<core::Attachment> attachment_by_id(Conn& c, Id id) {
  PARLEY_SQL(s, c, "SELECT " ATTACHMENT_COLS " FROM attachments WHERE id = ?1");
  s.bind_id(1, id);
  auto row = step_one(s, "attachment by id");
  if (!row) return row.take_error();
  if (!*row) return not_found("attachment");
  return read_attachment(s);
}

core::Result<std::int64_t> storage_used(Conn& c, Id user_id) { return used_bytes(c, user_id, 0); }

core::Result<PendingUpload> insert_upload(Conn& c, const PendingUpload& u, std::int64_t quota) {
  if (u.size <= 0) return make_error(Errc::kInvalidArgument, "size: must be > 0");
  if (auto st = check_quota(c, u.user_id, 0, u.size, quota); !st) return st.take_error();
  PARLEY_SQL(s, c,
             "INSERT INTO uploads(id, user_id, name, size, created_at, received, updated_at) "
             "VALUES(?1, ?2, ?3, ?4, ?5, 0, ?5)");
  s.bind_id(1, u.id).bind_id(2, u.user_id).bind(3, u.name).bind(4, u.size).bind(5, u.created_at);
  if (auto st = s.exec("insert upload"); !st) {
    if (st.error().code == Errc::kNotFound) return not_found("user");
    return st.take_error();
  }
  PendingUpload out = u;
  out.offset = 0;
  out.updated_at = u.created_at;
  out.lease_until = 0;
  out.lease = 0;
  return out;
}

core::Result<PendingUpload> lease_upload(Conn& c, const UploadLease& l) {
  if (l.token == 0) return make_error(Errc::kInvalidArgument, "lease: token must be set");
  auto cur = upload_by_id(c, l.upload_id);
  if (!cur) return cur.take_error();
  // Unknown and other users' uploads look alike.
  if (cur->user_id != l.user_id) return not_found("upload");
  if (cur->lease != 0 && cur->lease != l.token && cur->lease_until > l.now) {
    auto e = make_error(Errc::kConflict, "upload busy: another request is writing to it");
    e.retry_after_ms = cur->lease_until - l.now;
    return e;
  }
  if (cur->offset != l.offset) {
    return make_error(Errc::kConflict, "offset mismatch: the upload has " +
                                           std::to_string(cur->offset) + " bytes, not " +
                                           std::to_string(l.offset));
  }
  PARLEY_SQL(s, c,
             "UPDATE uploads SET lease_token = ?2, lease_until = ?3, updated_at = ?4 "
             "WHERE id = ?1");
  s.bind_id(1, l.upload_id).bind(2, l.token).bind(3, l.until).bind(4, l.now);
  if (auto st = s.exec("lease upload"); !st) return st.take_error();
  cur->lease = l.token;
  cur->lease_until = l.until;
  cur->updated_at = l.now;
  return cur;
}

core::Result<PendingUpload> release_upload(Conn& c, Id upload_id, std::int64_t token,
                                           std::int64_t offset, std::int64_t now) {
  auto cur = upload_by_id(c, upload_id);
  if (!cur) return cur.take_error();
  if (token == 0 || cur->lease != token) {
    return make_error(Errc::kConflict, "upload busy: the lease of this request ended");
  }
  if (offset < 0 || offset > cur->size) {
    return make_error(Errc::kInvalidArgument, "offset: must be 0..size");
  }
  PARLEY_SQL(s, c,
             "UPDATE uploads SET received = ?2, updated_at = ?3, lease_token = 0, lease_until = 0 "
             "WHERE id = ?1");
  s.bind_id(1, upload_id).bind(2, offset).bind(3, now);
  if (auto st = s.exec("release upload"); !st) return st.take_error();
  cur->offset = offset;
  cur->updated_at = now;
  cur->lease = 0;
  cur->lease_until = 0;
  return cur;
}

core::Result<PendingUpload> upload_by_id(Conn& c, Id id) {
  PARLEY_SQL(s, c, "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?1");
  s.bind_id(1, id);
  auto row = step_one(s, "upload by id");
  if (!row) return row.take_error();
  if (!*row) return not_found("upload");
  return read_upload(s);
}

core::Result<core::Ok> delete_upload(Conn& c, Id user_id, Id upload_id) {
  PARLEY_SQL(s, c, "DELETE FROM uploads WHERE id = ?1 AND user_id = ?2");
  s.bind_id(1, upload_id).bind_id(2, user_id);
  if (auto st = s.exec("delete upload"); !st) return st.take_error();
  if (c.changes() == 0) return not_found("upload");
  return core::Ok{};
}

core::Result<SweepResult> sweep_unsent(Conn& c, std::int64_t before, int limit) {
  limit = std::clamp(limit, 1, 10000);
  SweepResult out;
  {
    PARLEY_SQL(s, c,
               "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments "
               "WHERE message_id = 0 AND created_at < ?1 ORDER BY created_at LIMIT ?2) "
               "RETURNING " ATTACHMENT_COLS);
    s.bind(1, before).bind(2, limit);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.attachments.push_back(read_attachment(s));
    if (rc != SQLITE_DONE) return step_error(s, rc, "sweep attachments");
  }
  {
    std::vector<std::string> shas;
    for (const auto& a : out.attachments) shas.push_back(a.sha256);
    if (auto st = forget_blob_texts(c, shas); !st) return st.take_error();
  }
  {
    PARLEY_SQL(s, c,
               "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE updated_at < ?1 "
               "AND lease_until < ?1 ORDER BY updated_at LIMIT ?2) RETURNING " UPLOAD_COLS);
    s.bind(1, before).bind(2, limit);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.uploads.push_back(read_upload(s));
    if (rc != SQLITE_DONE) return step_error(s, rc, "sweep uploads");
  }
  auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::sort(out.attachments.begin(), out.attachments.end(), by_id);
  std::sort(out.uploads.begin(), out.uploads.end(), by_id);
  return out;
}

core::Result<std::vector<std::string>> referenced_blobs(Conn& c,
                                                         const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    if (k.empty()) continue;
    PARLEY_SQL(s, c,
               "SELECT EXISTS(SELECT 1 FROM attachments WHERE sha256 = ?1) OR "
               "EXISTS(SELECT 1 FROM attachments WHERE thumb_key = ?1) OR "
               "EXISTS(SELECT 1 FROM attachments WHERE preview_key = ?1)");
    s.bind(1, k);
    auto row = step_one(s, "blob referenced");
    if (!row) return row.take_error();
    if (s.i64(0) != 0) out.push_back(k);
  }
  return out;
}

}  // namespace parley::store::sqlite_internal

// =============================================================================================
// Search (issue 4)

namespace parley::store::sqlite_internal {
namespace {

std::string fts5_string(const SearchTerm& t) {
  std::string out;
  out.reserve(t.text.size() + 4);
  out += '"';
  for (char ch : t.text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  if (t.kind == SearchTerm::Kind::kPrefix) out += " *";
  return out;
}

// A JSON array for json_each(): integers (ids) or strings (room names, DM keys).
std::string json_ids(const std::vector<Id>& ids) {
  std::string out = "[";
  for (Id id : ids) {
    if (out.size() > 1) out += ',';
    out += std::to_string(to_db(id));
  }
  return out + "]";
}

std::string json_strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const std::string& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += '\\';
      if (static_cast<unsigned char>(ch) < 0x20) {  // never in validated names; be safe anyway
        out += ' ';
        continue;
      }
      out += ch;
    }
    out += '"';
  }
  return out + "]";
}

// Longest excerpt (characters) of a body shown when the query has no term to centre it on.
constexpr int kPlainSnippetChars = 200;
// Tokens around the match in an FTS5 snippet.
constexpr int kSnippetTokens = 24;

}  // namespace

std::string fts5_match_expression(const std::vector<SearchTerm>& terms, bool positive) {
  std::string pos, neg;
  for (const SearchTerm& t : terms) {
    if (t.exclude) {
      if (!neg.empty()) neg += positive ? " NOT " : " OR ";
      neg += fts5_string(t);
    } else {
      if (!pos.empty()) pos += " AND ";
      pos += fts5_string(t);
    }
  }
  if (!positive) return neg;
  if (pos.empty()) return "";
  if (neg.empty()) return pos;
  return "(" + pos + ") NOT " + neg;
}

core::Result<std::vector<SearchHit>> search(Conn& c, const SearchQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxSearchLimit + 1);
  ReadTxn snapshot(c);  // the hits and their attachments from one snapshot
  const std::string match = fts5_match_expression(q.terms, true);
  const std::string excluded = match.empty() ? fts5_match_expression(q.terms, false) : "";
  const bool by_fts = !match.empty();
  const bool relevance = by_fts && q.order == SearchOrder::kRelevance;
  const bool has_filter = !q.from.empty() || !q.in_groups.empty() || !q.in_dms_with.empty() ||
                          q.has_link || q.has_file || q.has_image || q.is_thread ||
                          q.mentions_me || q.after != 0 || q.before != 0;
  if (!by_fts && excluded.empty() && !has_filter) {
    return make_error(Errc::kInvalidArgument, "search: a query needs a word or a filter");
  }

  // Two steps: `hits` finds the page (ids and scores) under every condition, ordered and cut
  // at the limit; only then are the page's rows read and their snippets made (snippet()
  // re-reads and re-tokenizes a body, too costly to do for every match of a common word).
  //
  // Rooms the searcher may read, each up to a seq: all of a room they are in, up to their
  // latest leave in a room they left. Parameters: ?1 user, ?2 match, ?3 excluded terms,
  // ?4 senders, ?5 group names, ?6 DM keys, ?7 after, ?8 before, ?9 cursor score, ?10 cursor
  // id, ?11 limit.
  std::string sql =
      "WITH vis(room_id, max_seq) AS (SELECT room_id, max(s) FROM ("
      "SELECT room_id, 9223372036854775807 AS s FROM members WHERE user_id = ?1 "
      "UNION ALL SELECT room_id, left_seq FROM past_members WHERE user_id = ?1) "
      "GROUP BY room_id), "
      "hits(id, score) AS MATERIALIZED (SELECT m.id, ";
  if (by_fts) {
    sql += relevance ? "bm25(message_fts) " : "0 ";
    sql += "FROM message_fts CROSS JOIN messages m ON m.id = message_fts.rowid ";
  } else {
    sql += "0 FROM messages m ";
  }
  sql += "JOIN vis v ON v.room_id = m.room_id WHERE m.seq <= v.max_seq AND m.deleted_at = 0 ";
  if (by_fts) sql += "AND message_fts MATCH ?2 ";
  if (!excluded.empty()) {
    sql += "AND m.id NOT IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?3) ";
  }
  if (!q.from.empty()) sql += "AND m.sender_id IN (SELECT value FROM json_each(?4)) ";
  if (!q.in_groups.empty() || !q.in_dms_with.empty()) {
    sql += "AND m.room_id IN (SELECT id FROM rooms WHERE ";
    if (!q.in_groups.empty()) {
      sql += "(kind = 'group' AND name COLLATE NOCASE IN (SELECT value FROM json_each(?5)))";
    }
    if (!q.in_groups.empty() && !q.in_dms_with.empty()) sql += " OR ";
    if (!q.in_dms_with.empty()) sql += "dm_key IN (SELECT value FROM json_each(?6))";
    sql += ") ";
  }
  if (q.after != 0) sql += "AND m.created_at >= ?7 ";
  if (q.before != 0) sql += "AND m.created_at < ?8 ";
  if (q.has_link) sql += "AND (m.body LIKE '%http://%' OR m.body LIKE '%https://%') ";
  if (q.has_file) sql += "AND EXISTS(SELECT 1 FROM attachments a WHERE a.message_id = m.id) ";
  if (q.has_image) {
    sql += "AND EXISTS(SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.kind = 'image') ";
  }
  if (q.is_thread) sql += "AND (m.thread_root <> 0 OR m.thread_replies > 0) ";
  if (q.mentions_me) {
    sql += "AND m.sender_id <> ?1 AND (m.mention_flags <> 0 OR EXISTS(SELECT 1 FROM mentions x "
           "WHERE x.user_id = ?1 AND x.room_id = m.room_id AND x.seq = m.seq)) ";
  }
  const bool paging = q.cursor.message_id != 0;
  if (relevance) {
    if (paging) {
      sql += "AND (bm25(message_fts) > ?9 OR (bm25(message_fts) = ?9 AND m.id < ?10)) ";
    }
    sql += "ORDER BY bm25(message_fts), m.id DESC ";
  } else if (by_fts) {
    // FTS5 walks its rowids (= message ids, time-ordered) backwards: no sort, early stop.
    if (paging) sql += "AND message_fts.rowid < ?10 ";
    sql += "ORDER BY message_fts.rowid DESC ";
  } else {
    if (paging) sql += "AND m.id < ?10 ";
    sql += "ORDER BY m.id DESC ";
  }
  sql += "LIMIT ?11) ";

  // The page: each hit's message, room and snippet.
  sql += "SELECT " MESSAGE_COLS_M ", r.kind, r.name, ";
  if (by_fts) {
    // Column -1: the snippet comes from the body or the files' text, wherever the match is.
    sql += "snippet(message_fts, -1, char(1), char(2), '…', " + std::to_string(kSnippetTokens) +
           "), h.score FROM hits h CROSS JOIN message_fts ON message_fts.rowid = h.id "
           "JOIN messages m ON m.id = h.id JOIN rooms r ON r.id = m.room_id "
           "WHERE message_fts MATCH ?2 ";
  } else {
    // Without a word to centre on: the body's start, or the file names of a files-only message.
    sql += "CASE WHEN m.body = '' THEN COALESCE((SELECT group_concat(name, ', ') FROM "
           "(SELECT name FROM attachments a WHERE a.message_id = m.id ORDER BY a.position)), '') "
           "WHEN length(m.body) > " + std::to_string(kPlainSnippetChars) +
           " THEN substr(m.body, 1, " + std::to_string(kPlainSnippetChars) +
           ") || '…' ELSE m.body END, h.score FROM hits h JOIN messages m ON m.id = h.id "
           "JOIN rooms r ON r.id = m.room_id ";
  }
  sql += relevance ? "ORDER BY h.score, h.id DESC" : "ORDER BY h.id DESC";

  auto prepared = c.prepare_generated(sql);
  if (!prepared) return prepared.take_error();
  Stmt s(c.raw(), *prepared);
  const std::string from = json_ids(q.from);
  const std::string groups = json_strings(q.in_groups);
  std::vector<std::string> keys;
  for (Id peer : q.in_dms_with) {
    keys.push_back(std::to_string(std::min(q.user_id, peer)) + ":" +
                   std::to_string(std::max(q.user_id, peer)));
  }
  const std::string dm_keys = json_strings(keys);
  s.bind_id(1, q.user_id).bind(2, match).bind(3, excluded).bind(4, from).bind(5, groups)
      .bind(6, dm_keys).bind(7, q.after).bind(8, q.before).bind_id(10, q.cursor.message_id)
      .bind(11, limit);
  sqlite3_bind_double(*prepared, 9, q.cursor.score);

  std::vector<SearchHit> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    SearchHit h;
    h.message = read_message(s, 0);  // MESSAGE_COLS_M: 18 columns
    h.room_kind = parse_kind(s.text_view(18));
    h.room_name = s.text(19);
    h.snippet = s.text(20);
    h.score = sqlite3_column_double(*prepared, 21);
    out.push_back(std::move(h));
  }
  if (rc != SQLITE_DONE) {
    // A malformed MATCH expression cannot come from user text (every term is quoted); report
    // it as what it is, a bug, without the query text.
    return step_error(s, rc, "search");
  }
  for (SearchHit& h : out) {
    if (auto st = load_attachments(c, h.message); !st) return st.take_error();
  }
  return out;
}

core::Result<std::vector<core::Attachment>> blobs_needing_text(
    Conn& c, const std::vector<std::string>& mime_types, int limit) {
  limit = std::clamp(limit, 1, 1000);
  PARLEY_SQL(s, c,
             "SELECT " ATTACHMENT_COLS " FROM attachments WHERE id IN ("
             "  SELECT max(id) FROM attachments x "
             "  WHERE (x.mime IN (SELECT value FROM json_each(?1)) "
             "         OR substr(x.mime, 1, instr(x.mime, '/')) || '*' IN "
             "            (SELECT value FROM json_each(?1))) "
             "    AND NOT EXISTS(SELECT 1 FROM blob_texts b WHERE b.sha256 = x.sha256) "
             "  GROUP BY x.sha256) "
             "ORDER BY id DESC LIMIT ?2");
  const std::string types = json_strings(mime_types);  // bound without a copy: keep it alive
  s.bind(1, types).bind(2, limit);
  std::vector<core::Attachment> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_attachment(s));
  if (rc != SQLITE_DONE) return step_error(s, rc, "blobs needing text");
  return out;
}

core::Result<std::int64_t> set_blob_text(Conn& c, const BlobText& t) {
  {
    PARLEY_SQL(s, c,
               "INSERT INTO blob_texts(sha256, text, status, extracted_at) "
               "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS(SELECT 1 FROM attachments WHERE sha256 = ?1) "
               "ON CONFLICT(sha256) DO NOTHING");
    s.bind(1, t.sha256).bind(2, t.text)
        .bind(3, t.status == BlobTextStatus::kExtracted ? "extracted" : "failed")
        .bind(4, t.extracted_at);
    if (auto st = s.exec("set blob text"); !st) return st.take_error();
  }
  if (sqlite3_changes(c.raw()) == 0) return std::int64_t{0};
  std::vector<Id> messages;
  {
    PARLEY_SQL(s, c,
               "SELECT DISTINCT message_id FROM attachments WHERE sha256 = ?1 AND message_id <> 0");
    s.bind(1, t.sha256);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) messages.push_back(s.id(0));
    if (rc != SQLITE_DONE) return step_error(s, rc, "messages of blob");
  }
  for (Id id : messages) {
    if (auto st = refresh_files_text(c, id); !st) return st.take_error();
  }
  return static_cast<std::int64_t>(messages.size());
}

}  // namespace parley::store::sqlite_internal
