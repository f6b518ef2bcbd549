// store/store.h: the Store interface, the only way the application reaches durable state.
//
// Contract for every backend (SQLite now, PostgreSQL later), checked by the conformance suite
// in store/conformance/:
//  - Every method is asynchronous: it returns at once and calls `done` exactly once, later, on
//    a store-owned thread (never inline in the caller). `done` must be quick and must not block
//    or call back into the store synchronously waiting for a result; post real work elsewhere.
//  - Methods are thread-safe; callers may invoke them from any thread.
//  - Write methods are durable when `done` reports success (committed; with SQLite's default
//    synchronous=FULL, fsync'd). A failed write stores nothing (no half-written state).
//  - Every durable room change gets the next gap-free per-room seq inside the same transaction;
//    `done` for writes to one room is called in seq order.
//  - Errors use core::Errc: kNotFound, kConflict (unique key), kForbidden (membership checks the
//    store enforces transactionally), kInvalidArgument, kUnavailable (I/O, closed), kInternal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace parley::store {

using core::Id;

template <class T>
using Callback = std::function<void(core::Result<T>)>;

struct NewUser {
  Id id = 0;
  std::string username;  // already normalised
  std::string display_name;
  std::string email;
  std::string password_hash;
  core::Role role = core::Role::kUser;
  std::int64_t created_at = 0;
};

// Fields left nullopt are unchanged.
struct UserUpdate {
  Id id = 0;
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<std::string> password_hash;
  std::optional<core::Role> role;
  std::optional<core::UserStatus> status;
  std::optional<bool> read_receipts;
  std::optional<bool> invisible;
};

struct UserQuery {
  std::string prefix;  // username or display-name prefix, case-insensitive; "" for all
  Id after_id = 0;     // cursor: users with id > after_id, ascending
  int limit = 50;
};

struct NewGroupRoom {
  Id id = 0;
  std::string name;
  std::string topic;
  Id created_by = 0;            // becomes owner
  std::vector<Id> member_ids;   // other initial members (role member); unknown ids -> kNotFound
  std::int64_t created_at = 0;
};

struct DmResult {
  core::Room room;
  bool created = false;
};

// --- message content (issue 3: markdown and mentions). The chat service renders a body before
// it reaches the store (render/render.h); the parts that depend on durable state (which
// usernames exist, the author's role, the room's size) are settled inside the storing
// transaction, so they cannot race with the message's own commit and need no extra read.

// What the store found, inside the storing transaction, for ContentRequest::compose.
struct ContentLookup {
  std::optional<core::MemberRole> role;  // the author's role in the room now (nullopt: not a member)
  std::int64_t member_count = 0;         // members of the room (when count_members was asked)
  std::vector<Id> user_ids;              // parallel to mention_names: that active user, 0 = none
  std::vector<bool> members;             // parallel to mention_names: that user is a member
  const core::Mentions* previous = nullptr;  // an edit: the mentions before it; else nullptr
};

// A message's stored content beside its body.
struct MessageContent {
  std::string html;
  core::Mentions mentions;
};

struct ContentRequest {
  std::vector<std::string> mention_names;  // distinct normalised usernames (at most kMaxMentionNames)
  bool count_members = false;              // fill ContentLookup::member_count
  // Called once on the store thread inside the transaction; quick, must not call the store. An
  // error fails the write with that error. Unset: the message is stored with html "" and no
  // mentions (e.g. tools that store bodies without rendering them).
  std::function<core::Result<MessageContent>(const ContentLookup&)> compose;
};

// Most usernames one message may ask the store to resolve; more is kInvalidArgument.
inline constexpr int kMaxMentionNames = 50;

struct NewMessage {
  Id id = 0;
  Id room_id = 0;
  Id sender_id = 0;
  std::string client_txn_id;  // idempotency key, unique per sender
  std::string body;
  Id reply_to = 0;            // must be a message of the same room (kInvalidArgument otherwise)
  // A thread reply: a live root message (itself not a reply in a thread) of the same room
  // (kInvalidArgument otherwise). The sender follows the thread, the root's author too.
  Id thread_root = 0;
  std::int64_t created_at = 0;
  // Unsent attachments of the sender, attached in this order in the same transaction (at most
  // kMaxAttachmentsPerMessage). kNotFound for an id that is unknown or another user's upload,
  // kConflict for one already sent with another message; the append then stores nothing.
  std::vector<Id> attachment_ids;
  // Optional: the caller's authorization decision, made inside the storing transaction from the
  // sender's current room role (nullopt: not a member). A non-ok Status fails the append with
  // that error. Lets the chat service decide through its policy without a separate read (which
  // would also let two pipelined sends of one client overtake each other). Called on a store
  // thread; must be quick and must not call the store.
  std::function<core::Status(std::optional<core::MemberRole>)> authorize;
  // Rendered HTML and resolved mentions, composed in the transaction (after authorize).
  ContentRequest content;
};

// An edit of a live message's body with its re-rendered content (edit_message(MessageEdit)).
struct MessageEdit {
  Id room_id = 0;
  Id message_id = 0;
  Id only_sender = 0;  // != 0: only that sender's message (kForbidden otherwise)
  std::string body;
  Id actor = 0;
  std::int64_t now = 0;
  ContentRequest content;  // compose sees the actor's role and the previous mentions
};

struct AppendResult {
  core::RoomEvent event;   // the message.created event (for a duplicate: the original one)
  bool duplicate = false;  // the (sender, client_txn_id) pair was stored before
};

// History cursor: at most one of before/after/around is set (message ids); none = newest.
struct HistoryQuery {
  Id room_id = 0;
  Id before = 0;
  Id after = 0;
  Id around = 0;
  int limit = 50;  // 1..101 (REST asks for one extra row to learn whether more exist)
  // 0: the room's timeline, without thread replies. Otherwise the replies of that thread only.
  Id thread_root = 0;
};

// A member's read state change (update_read_state).
enum class ReadMode {
  kForward,  // read_seq may only move forward: a lower one is kConflict (an equal one: no change)
  kExact,    // read_seq is set as given, backwards too ("mark unread from here")
};
struct ReadUpdate {
  Id room_id = 0;
  Id user_id = 0;
  std::int64_t read_seq = -1;       // -1: leave the read marker alone
  std::int64_t delivered_seq = -1;  // -1: leave alone; lower than the stored one: no change
  ReadMode mode = ReadMode::kForward;
};

struct ReactionUpdate {
  Id room_id = 0;
  Id message_id = 0;
  Id user_id = 0;
  std::string emoji;  // validated by the caller
  bool add = true;    // false: remove
  std::int64_t now = 0;
};
struct ReactionResult {
  core::RoomEvent event;  // reaction.added / reaction.removed; unset (seq 0) when !changed
  bool changed = false;   // false: the user had (add) / had not (remove) that reaction already
};

// Most distinct emoji on one message; a new one beyond this is kInvalidArgument.
inline constexpr int kMaxReactionKinds = 20;

// Most attachments on one message; more is kInvalidArgument.
inline constexpr int kMaxAttachmentsPerMessage = 10;

// An attachment to store once its bytes are safely in the blob store (issue 4).
struct NewAttachment {
  core::Attachment attachment;  // id, uploader_id, name, mime, kind, size, sha256, ... set;
                                // message_id/room_id must be 0
  Id upload_id = 0;             // the resumable upload it completes (deleted in the same
                                // transaction; its reservation no longer counts), or 0
  std::int64_t quota = 0;       // the uploader's quota in bytes, checked in the transaction
                                // (kQuotaExceeded); <= 0: unlimited
};

// A resumable upload in progress: its declared size is reserved against the user's quota until
// it completes (becoming an attachment) or is swept. The received bytes live beside the blob
// store on the node that received them; the store keeps only what the quota and sweeper need.
struct PendingUpload {
  Id id = 0;
  Id user_id = 0;
  std::string name;          // sanitised file name
  std::int64_t size = 0;     // declared total size in bytes (> 0)
  std::int64_t created_at = 0;
  // Resumable uploads (migration 8). The store is where every node agrees on an upload's state:
  std::int64_t offset = 0;       // bytes received and durable (fsynced) on the node's disk
  std::int64_t updated_at = 0;   // last append or lease; the sweep counts its TTL from here
  std::int64_t lease_until = 0;  // an append or completion holds the upload until then (ms)
  std::int64_t lease = 0;        // that holder's token (0: none)
};

// Taking an upload for one append or its completion (Store::lease_upload).
struct UploadLease {
  Id upload_id = 0;
  Id user_id = 0;             // must be the upload's owner (kNotFound otherwise)
  std::int64_t offset = 0;    // the offset the caller writes at (kConflict unless it is current)
  std::int64_t token = 0;     // != 0, unique per request
  std::int64_t now = 0;
  std::int64_t until = 0;     // lease end (ms)
};

// What sweep_unsent removed: attachments never sent and uploads never completed, created before
// the cut-off. Their blobs (attachments) and partial files (uploads) are the caller's to delete
// once nothing else refers to them.
struct SweepResult {
  std::vector<core::Attachment> attachments;
  std::vector<PendingUpload> uploads;
};

// --- pins, threads, edit history (issue 3)

// Most pinned messages per room; pinning one more is kInvalidArgument.
inline constexpr int kMaxPinsPerRoom = 100;
// Most earlier bodies kept per message; older revisions are dropped on the next edit.
inline constexpr int kMaxRevisionsPerMessage = 50;
// Most followed threads one list_followed_threads call returns.
inline constexpr int kMaxFollowedThreadsLimit = 100;

// Fields left nullopt are unchanged. At least one must be set.
struct RoomChange {
  Id room_id = 0;
  std::optional<std::string> name;
  std::optional<std::string> topic;
  std::optional<core::PinPolicy> pin_policy;
  Id actor = 0;
  std::int64_t now = 0;
};

struct PinUpdate {
  Id room_id = 0;
  Id message_id = 0;
  Id user_id = 0;
  bool pin = true;  // false: unpin
  std::int64_t now = 0;
};
struct PinResult {
  core::RoomEvent event;  // message.pinned / message.unpinned; unset (seq 0) when !changed
  bool changed = false;   // false: it was (pin) / was not (unpin) pinned already
};

struct FollowUpdate {
  Id room_id = 0;
  Id root_id = 0;
  Id user_id = 0;
  bool follow = true;
  std::int64_t now = 0;
};

// --- full-text search (issue 4; docs/search.md)

// One search term as the user wrote it, unescaped. Backends quote or escape it for their own
// query language (FTS5 MATCH, tsquery) and never pass it through as syntax.
struct SearchTerm {
  enum class Kind {
    kWord,    // one word
    kPhrase,  // words in this order, next to each other
    kPrefix,  // a word (or phrase) whose last word is a prefix: "deplo" finds "deploy"
  };
  Kind kind = Kind::kWord;
  std::string text;
  bool exclude = false;  // -term: messages containing it are left out
};

enum class SearchOrder {
  kRelevance,  // best match first (bm25 / ts_rank), then newest; kRecent when no term is positive
  kRecent,     // newest first
};

// Where the previous page ended: its last hit's score and message id. message_id 0 = first page.
struct SearchCursor {
  double score = 0;  // kRelevance only
  Id message_id = 0;
};

// Every condition must hold (terms are ANDed; several from: or in: values are ORed).
struct SearchQuery {
  Id user_id = 0;                     // the searcher (see Store::search for what they may read)
  std::vector<SearchTerm> terms;      // at least one term or one filter
  std::vector<Id> from;               // sent by any of these users (empty: anyone)
  std::vector<std::string> in_groups; // in a group room of this name (ASCII case-insensitive) ...
  std::vector<Id> in_dms_with;        // ... or in the searcher's DM with one of these users
  bool has_link = false;              // the body contains an http:// or https:// link
  bool has_file = false;              // the message has an attachment (any kind)
  bool has_image = false;             // the message has an image attachment
  bool is_thread = false;             // a thread reply, or a root with at least one live reply
  bool mentions_me = false;           // mentions the searcher by name, or @room/@here, and was
                                      // sent by someone else
  std::int64_t after = 0;             // created_at >= after (Unix ms; 0: no bound)
  std::int64_t before = 0;            // created_at < before (Unix ms; 0: no bound)
  SearchOrder order = SearchOrder::kRelevance;
  SearchCursor cursor;
  int limit = 20;                     // 1..kMaxSearchLimit (+1: the caller may ask one extra)
};

// Text taken out of an attachment's bytes so that search finds the message by the file's
// contents (decision 0017). One per blob: equal files share it.
enum class BlobTextStatus {
  kExtracted,  // `text` is the file's text (possibly cut at the configured bound)
  kFailed,     // the extractor gave up (timeout, limits, damaged file): found by name only
};
struct BlobText {
  std::string sha256;  // the blob key
  std::string text;    // valid UTF-8 without control characters other than \n and \t
  BlobTextStatus status = BlobTextStatus::kExtracted;
  std::int64_t extracted_at = 0;
};

// Marks around matched words in SearchHit::snippet: control characters that a stored message
// body never contains (core::validate_body), so the caller can escape the text and then turn
// them into its own highlight markup.
inline constexpr char kSnippetMatchBegin = '\x01';
inline constexpr char kSnippetMatchEnd = '\x02';
inline constexpr int kMaxSearchLimit = 50;

struct SearchHit {
  core::Message message;   // as stored now (never deleted)
  core::RoomKind room_kind = core::RoomKind::kGroup;
  std::string room_name;   // "" for DMs
  std::string snippet;     // plain-text excerpt of the body, matches between the marks above
  double score = 0;        // relevance, lower is better (bm25); 0 when ordered by recency
};

// A room's id and the seq of its newest event (Store::room_heads_for_user).
struct RoomHead {
  Id room_id = 0;
  std::int64_t last_seq = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // A random id fixed when the store was created; clients resume only within one epoch.
  virtual std::string epoch() const = 0;
  // Cheap health probe (readiness).
  virtual void ping(Callback<core::Ok> done) = 0;

  // --- users
  // kConflict when the username is taken.
  virtual void create_user(NewUser u, Callback<core::User> done) = 0;
  virtual void user_by_id(Id id, Callback<core::User> done) = 0;
  virtual void user_by_username(std::string username, Callback<core::User> done) = 0;
  virtual void list_users(UserQuery q, Callback<std::vector<core::User>> done) = 0;
  virtual void update_user(UserUpdate u, Callback<core::User> done) = 0;
  virtual void count_users(Callback<std::int64_t> done) = 0;

  // --- sessions
  virtual void create_session(core::Session s, Callback<core::Session> done) = 0;
  virtual void session_by_token_hash(std::string token_hash, Callback<core::Session> done) = 0;
  // Sets last_used (and extends nothing else).
  virtual void touch_session(Id session_id, std::int64_t now, Callback<core::Ok> done) = 0;
  virtual void list_sessions(Id user_id, Callback<std::vector<core::Session>> done) = 0;
  // kNotFound unless the session exists and belongs to user_id.
  virtual void delete_session(Id user_id, Id session_id, Callback<core::Ok> done) = 0;
  // Deletes every session of the user except `keep` (0 = all). Returns how many.
  virtual void delete_user_sessions(Id user_id, Id keep, Callback<std::int64_t> done) = 0;

  // --- rooms and members
  virtual void create_group_room(NewGroupRoom r, Callback<core::Room> done) = 0;
  // The one DM room of the pair {a, b} (a != b), created on first use with both as members.
  virtual void get_or_create_dm(Id a, Id b, Id new_room_id, std::int64_t now,
                                Callback<DmResult> done) = 0;
  virtual void room_by_id(Id room_id, Callback<core::Room> done) = 0;
  virtual void member(Id room_id, Id user_id, Callback<core::Member> done) = 0;
  virtual void list_members(Id room_id, Callback<std::vector<core::Member>> done) = 0;
  // Rooms the user is a member of, newest activity first.
  virtual void rooms_for_user(Id user_id, Callback<std::vector<core::RoomSummary>> done) = 0;
  // The rooms the user is a member of and each room's last_seq, in no particular order: what
  // rooms_for_user says about membership and last_seq, without the unread counts and last
  // messages (one indexed read instead of several per room). The gateway re-reads this after
  // following a new session's rooms. The default derives it from rooms_for_user.
  virtual void room_heads_for_user(Id user_id, Callback<std::vector<RoomHead>> done);
  // member.joined event; kConflict if already a member.
  virtual void add_member(Id room_id, Id user_id, core::MemberRole role, Id actor,
                          std::int64_t now, Callback<core::RoomEvent> done) = 0;
  // member.left event; kNotFound if not a member. The leave's seq is remembered: a former
  // member may still search the room's messages up to it (search()).
  virtual void remove_member(Id room_id, Id user_id, Id actor, std::int64_t now,
                             Callback<core::RoomEvent> done) = 0;
  // room.updated event with the new name/topic (nullopt = unchanged).
  virtual void update_room(Id room_id, std::optional<std::string> name,
                           std::optional<std::string> topic, Id actor, std::int64_t now,
                           Callback<core::RoomEvent> done) = 0;

  // --- messages and events
  // Idempotent by (sender_id, client_txn_id). Without m.authorize: kForbidden if the sender is not
  // a member (checked in the same transaction); with it, whatever it decides. kInvalidArgument for
  // a reply_to outside the room. Appends from one thread are committed in call order.
  virtual void append_message(NewMessage m, Callback<AppendResult> done) = 0;
  // message.updated event. only_sender != 0 restricts to that sender (kForbidden otherwise);
  // kNotFound for a deleted or unknown message or one in another room. The message's html and
  // mentions are cleared (nothing rendered them); the chat service uses edit_message(MessageEdit).
  virtual void edit_message(Id room_id, Id message_id, Id only_sender, std::string body,
                            Id actor, std::int64_t now, Callback<core::RoomEvent> done) = 0;
  // message.deleted event: body cleared, deleted_at set (tombstone).
  virtual void delete_message(Id room_id, Id message_id, Id only_sender, Id actor,
                              std::int64_t now, Callback<core::RoomEvent> done) = 0;
  virtual void message_by_id(Id message_id, Callback<core::Message> done) = 0;
  // Messages ascending by seq (tombstones included).
  virtual void history(HistoryQuery q, Callback<std::vector<core::Message>> done) = 0;
  // Events with seq > after_seq, ascending, at most `limit`.
  virtual void events_since(Id room_id, std::int64_t after_seq, int limit,
                            Callback<std::vector<core::RoomEvent>> done) = 0;

  // --- read state, receipts, reactions, presence (issue 3). Not pure: a backend that does not
  // implement them fails with kInternal (inline); every shipped backend implements them.
  //
  // Moves a member's read marker and/or delivered position in one transaction. kNotFound when
  // not a member; kInvalidArgument when a seq is beyond the room's last_seq (or < 0);
  // kConflict when mode is kForward and read_seq is below the stored marker. The delivered
  // position never goes down and is raised to the read marker (read implies delivered).
  virtual void update_read_state(ReadUpdate u, Callback<core::ReadState> done);
  // Sets the read marker of every room of the user to the room's last_seq; returns the rooms
  // that changed.
  virtual void mark_all_read(Id user_id, Callback<std::vector<core::ReadState>> done);
  // Members other than the message's sender who hold / have read message seq `seq`.
  virtual void message_receipts(Id room_id, std::int64_t seq, Id sender_id,
                                Callback<core::MessageReceipts> done);
  // Adds or removes one user's emoji on a live message of the room; a change is a durable
  // reaction.* room event with the next seq. kNotFound for an unknown/deleted message or one of
  // another room; kForbidden when the user is not a member (checked in the transaction);
  // kInvalidArgument beyond kMaxReactionKinds.
  virtual void set_reaction(ReactionUpdate u, Callback<ReactionResult> done);
  // Records when the user was last seen connected.
  virtual void set_last_seen(Id user_id, std::int64_t at, Callback<core::Ok> done);

  // --- message content (issue 3). Not pure, as above.
  //
  // edit_message with the content re-rendered: as the other edit_message, plus e.content
  // composed in the transaction (a compose error stores nothing). The message's mentions are
  // replaced; unread mention counts follow (RoomSummary::unread_mentions).
  virtual void edit_message(MessageEdit e, Callback<core::RoomEvent> done);

  // --- attachments and uploads (issue 4). Not pure, as above. A message's attachments come with
  // it from every message read (history, message_by_id, events_since, append results); deleting
  // a message deletes its attachment rows in the same transaction.
  //
  // Stores an unsent attachment. kQuotaExceeded when the uploader's storage (storage_used minus
  // the completed upload's reservation) plus its size is over a.quota; kConflict for a taken id;
  // kNotFound when a.upload_id is set but not an upload of the uploader.
  virtual void create_attachment(NewAttachment a, Callback<core::Attachment> done);
  // Any attachment, sent or not (the caller decides who may see it).
  virtual void attachment_by_id(Id id, Callback<core::Attachment> done);
  // Bytes held by the user: the sizes of every attachment they uploaded that still exists (sent
  // or not) plus the declared sizes of their open uploads.
  virtual void storage_used(Id user_id, Callback<std::int64_t> done);
  // Opens a resumable upload. kQuotaExceeded when storage_used + u.size > quota (quota <= 0:
  // unlimited), checked in the transaction; kConflict for a taken id.
  virtual void create_upload(PendingUpload u, std::int64_t quota, Callback<PendingUpload> done);
  virtual void upload_by_id(Id id, Callback<PendingUpload> done);
  // Cancels an open upload; kNotFound unless it exists and belongs to user_id.
  virtual void delete_upload(Id user_id, Id upload_id, Callback<core::Ok> done);
  // Takes the open upload l.upload_id for one writer: kNotFound unless it exists and belongs to
  // l.user_id; kConflict when another writer's lease has not ended ("upload busy") or when its
  // offset is not l.offset ("offset mismatch"); otherwise records the lease (token, until) and
  // updated_at = now, and returns the upload. The lease lives in the store so that several nodes
  // sharing it never write one upload at once, and the sweep never takes a leased upload.
  virtual void lease_upload(UploadLease l, Callback<PendingUpload> done);
  // Ends the lease `token` on `upload_id`, recording `offset` (durable by now) and updated_at =
  // now. kConflict when the lease is no longer this token's (it expired and was taken), kNotFound
  // when the upload is gone (cancelled or swept).
  virtual void release_upload(Id upload_id, std::int64_t token, std::int64_t offset,
                              std::int64_t now, Callback<PendingUpload> done);
  // Deletes unsent attachments created before `before` and open uploads idle since before
  // `before` (updated_at) whose lease ended before it too, at most `limit` of each, oldest
  // first, and returns what it deleted.
  virtual void sweep_unsent(std::int64_t before, int limit, Callback<SweepResult> done);
  // The subset of `keys` some stored attachment refers to (as original, thumbnail or preview).
  virtual void referenced_blobs(std::vector<std::string> keys,
                                Callback<std::vector<std::string>> done);

  // --- pins, threads, edit history (issue 3). Not pure, as above.
  //
  // room.updated event with the new name/topic/pin_policy (update_room is this without a pin
  // policy). kNotFound for an unknown room.
  virtual void change_room(RoomChange c, Callback<core::RoomEvent> done);
  // Pins or unpins a live message of the room; a change is a durable message.pinned /
  // message.unpinned event. kNotFound for an unknown/deleted message or one of another room;
  // kForbidden when the user is not a member; kInvalidArgument beyond kMaxPinsPerRoom.
  // Deleting a message removes its pin (the message.deleted event says so).
  virtual void set_pin(PinUpdate u, Callback<PinResult> done);
  // The room's pins, most recently pinned first (at most kMaxPinsPerRoom).
  virtual void list_pins(Id room_id, Callback<std::vector<core::Pin>> done);
  // Follows or unfollows a thread (the root need not have replies yet). kNotFound for an
  // unknown or deleted root, one of another room, or a message that is itself a thread reply;
  // kForbidden when the user is not a member. Returns whether the user now follows it.
  virtual void set_thread_follow(FollowUpdate u, Callback<bool> done);
  // Whether the user follows the thread rooted at `root_id`.
  virtual void thread_follow(Id root_id, Id user_id, Callback<bool> done);
  // The threads the user follows in rooms they are still a member of, most recent activity
  // first, at most `limit` (1..kMaxFollowedThreadsLimit).
  virtual void list_followed_threads(Id user_id, int limit,
                                     Callback<std::vector<core::FollowedThread>> done);
  // Moves the user's read position in a followed thread forward to `seq` (the seq of a reply;
  // -1: the newest reply). kNotFound when the user does not follow the thread.
  virtual void mark_thread_read(Id root_id, Id user_id, std::int64_t seq,
                                Callback<core::FollowedThread> done);
  // The kept earlier bodies of a message, newest first (the current body is the message's).
  // kNotFound for an unknown or deleted message (a deletion drops its history).
  virtual void message_revisions(Id message_id, Callback<std::vector<core::MessageRevision>> done);

  // --- full-text search (issue 4). Not pure, like the block above; every shipped backend
  // implements it.
  //
  // Messages matching `q` that the searcher may read: not deleted, in a room they are a member
  // of now, or in a room they left (or were removed from) up to the seq of their latest
  // member.left event there. Ordered as q.order says, starting after q.cursor, at most q.limit
  // (clamped to 1..kMaxSearchLimit + 1). Edits and deletes are visible to the next search once
  // committed. kInvalidArgument when the query has no term and no filter.
  virtual void search(SearchQuery q, Callback<std::vector<SearchHit>> done);
  // Attachments (sent or not) whose blob has no stored text yet and whose type is one of
  // `mime_types` (exact, or "type/*" for a family): one attachment per blob, newest first, at
  // most `limit` (1..1000). The extractor's durable work list: it survives restarts.
  virtual void blobs_needing_text(std::vector<std::string> mime_types, int limit,
                                  Callback<std::vector<core::Attachment>> done);
  // Records the text of blob t.sha256 (once: a blob that has a text keeps it) and re-indexes
  // every live message carrying that blob, in one transaction: search finds them by the file's
  // words from the commit on. Nothing is stored when no attachment refers to the blob any more
  // (deleted meanwhile). Returns how many messages were re-indexed.
  virtual void set_blob_text(BlobText t, Callback<std::int64_t> done);
};

inline void Store::room_heads_for_user(Id user_id, Callback<std::vector<RoomHead>> done) {
  rooms_for_user(user_id, [done = std::move(done)](
                              core::Result<std::vector<core::RoomSummary>> r) mutable {
    if (!r) return done(r.take_error());
    std::vector<RoomHead> heads;
    heads.reserve(r->size());
    for (const core::RoomSummary& s : *r) heads.push_back(RoomHead{s.room.id, s.room.last_seq});
    done(std::move(heads));
  });
}
inline void Store::update_read_state(ReadUpdate, Callback<core::ReadState> done) {
  done(core::make_error(core::Errc::kInternal, "store: read state not supported"));
}
inline void Store::mark_all_read(Id, Callback<std::vector<core::ReadState>> done) {
  done(core::make_error(core::Errc::kInternal, "store: read state not supported"));
}
inline void Store::message_receipts(Id, std::int64_t, Id, Callback<core::MessageReceipts> done) {
  done(core::make_error(core::Errc::kInternal, "store: receipts not supported"));
}
inline void Store::set_reaction(ReactionUpdate, Callback<ReactionResult> done) {
  done(core::make_error(core::Errc::kInternal, "store: reactions not supported"));
}
inline void Store::set_last_seen(Id, std::int64_t, Callback<core::Ok> done) {
  done(core::make_error(core::Errc::kInternal, "store: last seen not supported"));
}
inline void Store::edit_message(MessageEdit, Callback<core::RoomEvent> done) {
  done(core::make_error(core::Errc::kInternal, "store: message content not supported"));
}
inline void Store::create_attachment(NewAttachment, Callback<core::Attachment> done) {
  done(core::make_error(core::Errc::kInternal, "store: attachments not supported"));
}
inline void Store::attachment_by_id(Id, Callback<core::Attachment> done) {
  done(core::make_error(core::Errc::kInternal, "store: attachments not supported"));
}
inline void Store::storage_used(Id, Callback<std::int64_t> done) {
  done(core::make_error(core::Errc::kInternal, "store: attachments not supported"));
}
inline void Store::create_upload(PendingUpload, std::int64_t, Callback<PendingUpload> done) {
  done(core::make_error(core::Errc::kInternal, "store: uploads not supported"));
}
inline void Store::upload_by_id(Id, Callback<PendingUpload> done) {
  done(core::make_error(core::Errc::kInternal, "store: uploads not supported"));
}
inline void Store::delete_upload(Id, Id, Callback<core::Ok> done) {
  done(core::make_error(core::Errc::kInternal, "store: uploads not supported"));
}
inline void Store::lease_upload(UploadLease, Callback<PendingUpload> done) {
  done(core::make_error(core::Errc::kInternal, "store: uploads not supported"));
}
inline void Store::release_upload(Id, std::int64_t, std::int64_t, std::int64_t,
                                  Callback<PendingUpload> done) {
  done(core::make_error(core::Errc::kInternal, "store: uploads not supported"));
}
inline void Store::sweep_unsent(std::int64_t, int, Callback<SweepResult> done) {
  done(core::make_error(core::Errc::kInternal, "store: attachments not supported"));
}
inline void Store::referenced_blobs(std::vector<std::string>,
                                    Callback<std::vector<std::string>> done) {
  done(core::make_error(core::Errc::kInternal, "store: attachments not supported"));
}
inline void Store::change_room(RoomChange, Callback<core::RoomEvent> done) {
  done(core::make_error(core::Errc::kInternal, "store: room settings not supported"));
}
inline void Store::set_pin(PinUpdate, Callback<PinResult> done) {
  done(core::make_error(core::Errc::kInternal, "store: pins not supported"));
}
inline void Store::list_pins(Id, Callback<std::vector<core::Pin>> done) {
  done(core::make_error(core::Errc::kInternal, "store: pins not supported"));
}
inline void Store::set_thread_follow(FollowUpdate, Callback<bool> done) {
  done(core::make_error(core::Errc::kInternal, "store: threads not supported"));
}
inline void Store::thread_follow(Id, Id, Callback<bool> done) {
  done(core::make_error(core::Errc::kInternal, "store: threads not supported"));
}
inline void Store::list_followed_threads(Id, int, Callback<std::vector<core::FollowedThread>> done) {
  done(core::make_error(core::Errc::kInternal, "store: threads not supported"));
}
inline void Store::mark_thread_read(Id, Id, std::int64_t, Callback<core::FollowedThread> done) {
  done(core::make_error(core::Errc::kInternal, "store: threads not supported"));
}
inline void Store::message_revisions(Id, Callback<std::vector<core::MessageRevision>> done) {
  done(core::make_error(core::Errc::kInternal, "store: edit history not supported"));
}

inline void Store::search(SearchQuery, Callback<std::vector<SearchHit>> done) {
  done(core::make_error(core::Errc::kInternal, "store: search not supported"));
}
inline void Store::blobs_needing_text(std::vector<std::string>, int,
                                      Callback<std::vector<core::Attachment>> done) {
  done(core::make_error(core::Errc::kInternal, "store: file text not supported"));
}
inline void Store::set_blob_text(BlobText, Callback<std::int64_t> done) {
  done(core::make_error(core::Errc::kInternal, "store: file text not supported"));
}

}  // namespace parley::store
