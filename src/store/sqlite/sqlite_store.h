// store/sqlite/sqlite_store.h: the embedded Store backend (SQLite 3.40, WAL).
//
// Ownership and threads: a SqliteStore owns one writer thread with the only read-write
// connection and `read_connections` reader threads, each with its own read-only connection.
// Every public method is thread-safe and returns at once; see store/store.h for the contract.
//  - Writes queue for the writer, which takes everything queued (up to max_batch) and runs it in
//    ONE transaction (group commit, as LevelDB's writer at the head of the queue does): each
//    request in its own SAVEPOINT, so a failing request rolls back alone; one COMMIT (one fsync
//    with synchronous=full) for the batch; then every completion in queue order on the writer
//    thread, so completions for one room arrive in seq order. A failed COMMIT fails every
//    request of the batch with kUnavailable.
//  - Reads queue for the reader pool and complete on the reader thread that ran them.
//  - Both queues are bounded by max_queue: a request beyond it fails fast with kUnavailable
//    (still delivered on a store thread, never inline).
//  - The destructor finishes every queued request (writes first, then reads) and joins the
//    threads. A write submitted by a read completion after the writer has stopped fails with
//    kUnavailable inline: the only case of an inline completion, and only during destruction.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ops/metrics.h"
#include "store/store.h"

namespace parley::store {

namespace sqlite_internal {
class Conn;
class Op;
struct WorkQueue;
}  // namespace sqlite_internal

struct SqliteConfig {
  std::string path;                 // database file; created with its directory if missing
  std::string synchronous = "full"; // "full" (default, fsync per commit) or "normal"
  int read_connections = 4;         // reader threads, each with its own connection (1..64)
  int max_batch = 512;              // most write requests in one group commit
  std::size_t max_queue = 100000;   // pending requests beyond this fail fast with kUnavailable
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed), applies versioned migrations, starts the threads.
  // kInvalidArgument for a bad config (the message names the setting), kUnavailable when the
  // file cannot be opened or is not a Parley database this build understands.
  static core::Result<std::unique_ptr<SqliteStore>> open(SqliteConfig cfg,
                                                          ops::Registry* metrics /*nullable*/);
  ~SqliteStore() override;  // finishes queued work, joins threads

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::string epoch() const override;
  void ping(Callback<core::Ok> done) override;

  void create_user(NewUser u, Callback<core::User> done) override;
  void user_by_id(Id id, Callback<core::User> done) override;
  void user_by_username(std::string username, Callback<core::User> done) override;
  void list_users(UserQuery q, Callback<std::vector<core::User>> done) override;
  void update_user(UserUpdate u, Callback<core::User> done) override;
  void count_users(Callback<std::int64_t> done) override;

  void create_session(core::Session s, Callback<core::Session> done) override;
  void session_by_token_hash(std::string token_hash, Callback<core::Session> done) override;
  void touch_session(Id session_id, std::int64_t now, Callback<core::Ok> done) override;
  void list_sessions(Id user_id, Callback<std::vector<core::Session>> done) override;
  void delete_session(Id user_id, Id session_id, Callback<core::Ok> done) override;
  void delete_user_sessions(Id user_id, Id keep, Callback<std::int64_t> done) override;

  void create_group_room(NewGroupRoom r, Callback<core::Room> done) override;
  void get_or_create_dm(Id a, Id b, Id new_room_id, std::int64_t now,
                        Callback<DmResult> done) override;
  void room_by_id(Id room_id, Callback<core::Room> done) override;
  void member(Id room_id, Id user_id, Callback<core::Member> done) override;
  void list_members(Id room_id, Callback<std::vector<core::Member>> done) override;
  void rooms_for_user(Id user_id, Callback<std::vector<core::RoomSummary>> done) override;
  void room_heads_for_user(Id user_id, Callback<std::vector<RoomHead>> done) override;
  void add_member(Id room_id, Id user_id, core::MemberRole role, Id actor, std::int64_t now,
                  Callback<core::RoomEvent> done) override;
  void remove_member(Id room_id, Id user_id, Id actor, std::int64_t now,
                     Callback<core::RoomEvent> done) override;
  void update_room(Id room_id, std::optional<std::string> name, std::optional<std::string> topic,
                   Id actor, std::int64_t now, Callback<core::RoomEvent> done) override;

  void append_message(NewMessage m, Callback<AppendResult> done) override;
  void edit_message(Id room_id, Id message_id, Id only_sender, std::string body, Id actor,
                    std::int64_t now, Callback<core::RoomEvent> done) override;
  void edit_message(MessageEdit e, Callback<core::RoomEvent> done) override;
  void delete_message(Id room_id, Id message_id, Id only_sender, Id actor, std::int64_t now,
                      Callback<core::RoomEvent> done) override;
  void message_by_id(Id message_id, Callback<core::Message> done) override;
  void history(HistoryQuery q, Callback<std::vector<core::Message>> done) override;
  void events_since(Id room_id, std::int64_t after_seq, int limit,
                    Callback<std::vector<core::RoomEvent>> done) override;

  void update_read_state(ReadUpdate u, Callback<core::ReadState> done) override;
  void mark_all_read(Id user_id, Callback<std::vector<core::ReadState>> done) override;
  void message_receipts(Id room_id, std::int64_t seq, Id sender_id,
                        Callback<core::MessageReceipts> done) override;
  void set_reaction(ReactionUpdate u, Callback<ReactionResult> done) override;
  void set_last_seen(Id user_id, std::int64_t at, Callback<core::Ok> done) override;

  void create_attachment(NewAttachment a, Callback<core::Attachment> done) override;
  void attachment_by_id(Id id, Callback<core::Attachment> done) override;
  void storage_used(Id user_id, Callback<std::int64_t> done) override;
  void create_upload(PendingUpload u, std::int64_t quota, Callback<PendingUpload> done) override;
  void upload_by_id(Id id, Callback<PendingUpload> done) override;
  void delete_upload(Id user_id, Id upload_id, Callback<core::Ok> done) override;
  void lease_upload(UploadLease l, Callback<PendingUpload> done) override;
  void release_upload(Id upload_id, std::int64_t token, std::int64_t offset, std::int64_t now,
                      Callback<PendingUpload> done) override;
  void sweep_unsent(std::int64_t before, int limit, Callback<SweepResult> done) override;
  void referenced_blobs(std::vector<std::string> keys,
                        Callback<std::vector<std::string>> done) override;
  void change_room(RoomChange c, Callback<core::RoomEvent> done) override;
  void set_pin(PinUpdate u, Callback<PinResult> done) override;
  void list_pins(Id room_id, Callback<std::vector<core::Pin>> done) override;
  void set_thread_follow(FollowUpdate u, Callback<bool> done) override;
  void thread_follow(Id root_id, Id user_id, Callback<bool> done) override;
  void list_followed_threads(Id user_id, int limit,
                             Callback<std::vector<core::FollowedThread>> done) override;
  void mark_thread_read(Id root_id, Id user_id, std::int64_t seq,
                        Callback<core::FollowedThread> done) override;
  void message_revisions(Id message_id,
                         Callback<std::vector<core::MessageRevision>> done) override;

  // Runs on a reader thread (FTS5 over an external-content index of messages.body).
  void search(SearchQuery q, Callback<std::vector<SearchHit>> done) override;
  void blobs_needing_text(std::vector<std::string> mime_types, int limit,
                          Callback<std::vector<core::Attachment>> done) override;
  void set_blob_text(BlobText t, Callback<std::int64_t> done) override;

 private:
  // Null when the store was opened without a registry.
  struct Metrics {
    ops::Histogram* commit_seconds = nullptr;
    ops::Histogram* batch_size = nullptr;
    ops::Counter* commits = nullptr;
    ops::Counter* writes = nullptr;
    ops::Gauge* queue_depth = nullptr;
  };

  SqliteStore(SqliteConfig cfg, std::string epoch, Metrics metrics,
              std::unique_ptr<sqlite_internal::Conn> writer,
              std::vector<std::unique_ptr<sqlite_internal::Conn>> readers);
  void start();

  template <class T, class Fn>
  void write(Callback<T> done, Fn fn);
  template <class T, class Fn>
  void read(Callback<T> done, Fn fn);
  void enqueue(sqlite_internal::WorkQueue& q, std::unique_ptr<sqlite_internal::Op> op,
               bool is_write);

  void writer_loop();
  void run_batch(std::vector<std::unique_ptr<sqlite_internal::Op>>& batch);
  void reader_loop(sqlite_internal::Conn& conn);

  const SqliteConfig cfg_;
  const std::string epoch_;
  const Metrics metrics_;
  std::unique_ptr<sqlite_internal::Conn> writer_conn_;
  std::vector<std::unique_ptr<sqlite_internal::Conn>> reader_conns_;
  std::unique_ptr<sqlite_internal::WorkQueue> write_q_;
  std::unique_ptr<sqlite_internal::WorkQueue> read_q_;
  std::thread writer_;
  std::vector<std::thread> readers_;
};

}  // namespace parley::store
