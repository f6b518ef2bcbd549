// store/sqlite/internal/queries.h: the SQL behind each Store method, as plain synchronous
// functions over one connection. Private to the SQLite store.
//
// Write functions run on the writer thread inside the batch transaction and their own
// SAVEPOINT: when one returns an error the caller rolls the savepoint back, so a failed write
// leaves nothing behind, and whatever it wrote becomes durable only at the batch's COMMIT.
// Read functions run on a reader thread on its own read-only connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "store/sqlite/internal/db.h"
#include "store/store.h"

namespace parley::store::sqlite_internal {

// Largest page sizes the store returns (requests above are clamped, below 1 become 1).
// History allows 100 + 1: the chat layer asks for one extra row to compute has_more.
inline constexpr int kMaxHistoryLimit = 101;
inline constexpr int kMaxUserListLimit = 200;
inline constexpr int kMaxEventsLimit = 5000;

// --- schema
// Applies every migration newer than the database's version in one transaction and creates the
// epoch on first use. kUnavailable when the database is newer than this build.
core::Status migrate(Conn& c, std::int64_t now_ms);
// The number of the newest migration this build knows.
int latest_schema_version();
// How many migrations this build knows (versions may have gaps while work lands).
int schema_migration_count();
core::Result<std::string> load_epoch(Conn& c);

// --- writes
core::Result<core::User> insert_user(Conn& c, const NewUser& u);
core::Result<core::User> update_user(Conn& c, const UserUpdate& u);
core::Result<core::Session> insert_session(Conn& c, const core::Session& s);
core::Result<core::Ok> touch_session(Conn& c, core::Id session_id, std::int64_t now);
core::Result<core::Ok> delete_session(Conn& c, core::Id user_id, core::Id session_id);
core::Result<std::int64_t> delete_user_sessions(Conn& c, core::Id user_id, core::Id keep);
core::Result<core::Room> create_group_room(Conn& c, const NewGroupRoom& r);
core::Result<DmResult> get_or_create_dm(Conn& c, core::Id a, core::Id b, core::Id new_room_id,
                                        std::int64_t now);
core::Result<core::RoomEvent> add_member(Conn& c, core::Id room_id, core::Id user_id,
                                         core::MemberRole role, core::Id actor, std::int64_t now);
core::Result<core::RoomEvent> remove_member(Conn& c, core::Id room_id, core::Id user_id,
                                            core::Id actor, std::int64_t now);
core::Result<core::RoomEvent> update_room(Conn& c, core::Id room_id,
                                          const std::optional<std::string>& name,
                                          const std::optional<std::string>& topic,
                                          core::Id actor, std::int64_t now);
core::Result<AppendResult> append_message(Conn& c, const NewMessage& m);
core::Result<core::RoomEvent> edit_message(Conn& c, const MessageEdit& e);
core::Result<core::RoomEvent> delete_message(Conn& c, core::Id room_id, core::Id message_id,
                                             core::Id only_sender, core::Id actor,
                                             std::int64_t now);

core::Result<core::ReadState> update_read_state(Conn& c, const ReadUpdate& u);
core::Result<std::vector<core::ReadState>> mark_all_read(Conn& c, core::Id user_id);
core::Result<ReactionResult> set_reaction(Conn& c, const ReactionUpdate& u);
core::Result<core::Ok> set_last_seen(Conn& c, core::Id user_id, std::int64_t at);
core::Result<core::Attachment> insert_attachment(Conn& c, const NewAttachment& a);
core::Result<PendingUpload> insert_upload(Conn& c, const PendingUpload& u, std::int64_t quota);
core::Result<core::Ok> delete_upload(Conn& c, core::Id user_id, core::Id upload_id);
core::Result<PendingUpload> lease_upload(Conn& c, const UploadLease& l);
core::Result<PendingUpload> release_upload(Conn& c, core::Id upload_id, std::int64_t token,
                                           std::int64_t offset, std::int64_t now);
core::Result<SweepResult> sweep_unsent(Conn& c, std::int64_t before, int limit);
core::Result<core::RoomEvent> change_room(Conn& c, const RoomChange& ch);
core::Result<PinResult> set_pin(Conn& c, const PinUpdate& u);
core::Result<bool> set_thread_follow(Conn& c, const FollowUpdate& u);
core::Result<core::FollowedThread> mark_thread_read(Conn& c, core::Id root_id, core::Id user_id,
                                                    std::int64_t seq);

// --- reads
core::Result<core::Attachment> attachment_by_id(Conn& c, core::Id id);
core::Result<std::int64_t> storage_used(Conn& c, core::Id user_id);
core::Result<PendingUpload> upload_by_id(Conn& c, core::Id id);
core::Result<std::vector<std::string>> referenced_blobs(Conn& c,
                                                         const std::vector<std::string>& keys);
core::Result<core::Ok> ping(Conn& c);
core::Result<core::MessageReceipts> message_receipts(Conn& c, core::Id room_id, std::int64_t seq,
                                                     core::Id sender_id);
core::Result<core::User> user_by_id(Conn& c, core::Id id);
core::Result<core::User> user_by_username(Conn& c, const std::string& username);
core::Result<std::vector<core::User>> list_users(Conn& c, const UserQuery& q);
core::Result<std::int64_t> count_users(Conn& c);
core::Result<core::Session> session_by_token_hash(Conn& c, const std::string& token_hash);
core::Result<std::vector<core::Session>> list_sessions(Conn& c, core::Id user_id);
core::Result<core::Room> room_by_id(Conn& c, core::Id room_id);
core::Result<core::Member> member(Conn& c, core::Id room_id, core::Id user_id);
core::Result<std::vector<core::Member>> list_members(Conn& c, core::Id room_id);
core::Result<std::vector<core::RoomSummary>> rooms_for_user(Conn& c, core::Id user_id);
core::Result<std::vector<RoomHead>> room_heads_for_user(Conn& c, core::Id user_id);
core::Result<core::Message> message_by_id(Conn& c, core::Id message_id);
core::Result<std::vector<core::Message>> history(Conn& c, const HistoryQuery& q);
core::Result<std::vector<core::RoomEvent>> events_since(Conn& c, core::Id room_id,
                                                        std::int64_t after_seq, int limit);
core::Result<std::vector<core::Pin>> list_pins(Conn& c, core::Id room_id);
core::Result<bool> thread_follow(Conn& c, core::Id root_id, core::Id user_id);
core::Result<std::vector<core::FollowedThread>> list_followed_threads(Conn& c, core::Id user_id,
                                                                      int limit);
core::Result<std::vector<core::MessageRevision>> message_revisions(Conn& c, core::Id message_id);

// --- search (issue 4)
// The FTS5 MATCH expression for the positive terms ANDed, minus the excluded ones (when
// `positive` is false: the excluded terms ORed, for a NOT IN subquery). Every term becomes a
// double-quoted FTS5 string (embedded quotes doubled), so nothing the user typed is ever read
// as FTS5 syntax (NEAR, column filters, ^, parentheses, AND/OR/NOT). "" when there is no term
// of that kind.
std::string fts5_match_expression(const std::vector<SearchTerm>& terms, bool positive);
core::Result<std::vector<SearchHit>> search(Conn& c, const SearchQuery& q);
core::Result<std::vector<core::Attachment>> blobs_needing_text(
    Conn& c, const std::vector<std::string>& mime_types, int limit);
// A write.
core::Result<std::int64_t> set_blob_text(Conn& c, const BlobText& t);

}  // namespace parley::store::sqlite_internal
