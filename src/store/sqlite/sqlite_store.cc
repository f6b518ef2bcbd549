#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>

#include "store/sqlite/internal/db.h"
#include "store/sqlite/internal/queries.h"

namespace parley::store {
namespace sqlite_internal {

// One queued request: computes its result on a worker thread, then delivers it.
class Op {
 public:
  virtual ~Op() = default;
  // Computes the result; false when the result is an error (the writer then rolls the
  // request's savepoint back).
  virtual bool run(Conn& c) = 0;
  // Delivers the computed result.
  virtual void complete() = 0;
  // Delivers `e` instead (queue full, or the batch's COMMIT failed).
  virtual void fail(core::Error e) = 0;
};

template <class T, class Fn>
class TypedOp final : public Op {
 public:
  TypedOp(Fn fn, Callback<T> done) : fn_(std::move(fn)), done_(std::move(done)) {}

  bool run(Conn& c) override {
    try {
      result_.emplace(fn_(c));
    } catch (const std::exception& e) {
      result_.emplace(core::make_error(core::Errc::kInternal, std::string("store: ") + e.what()));
    }
    return result_->ok();
  }
  void complete() override { done_(std::move(*result_)); }
  void fail(core::Error e) override { done_(std::move(e)); }

 private:
  Fn fn_;
  Callback<T> done_;
  std::optional<core::Result<T>> result_;
};

struct WorkQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Op>> pending;   // at most max_queue
  std::vector<std::unique_ptr<Op>> rejected; // over the limit: failed first by the worker
  bool stopping = false;                     // destructor: finish pending work, then exit
  bool closed = false;                       // the workers have exited
};

}  // namespace sqlite_internal

namespace {

using core::Errc;
using core::make_error;
using sqlite_internal::Conn;
using sqlite_internal::Op;
using sqlite_internal::WorkQueue;

constexpr int kBusyTimeoutMs = 5000;
constexpr int kMaxReadConnections = 64;
// After a checkpoint the WAL file is truncated back to this size (it would otherwise stay as
// large as its largest burst).
constexpr long long kWalSizeLimitBytes = 64LL << 20;
// The writer's page cache (negative = KiB): keeps the hot index pages of busy rooms in memory.
constexpr int kWriterCacheKiB = 32 * 1024;

// Statements the writer runs around every request; cached on the write connection.
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kSavepoint = "SAVEPOINT op";
constexpr const char* kRelease = "RELEASE op";
constexpr const char* kRollbackTo = "ROLLBACK TO op";

core::Status run_cached(Conn& c, const char* sql) {
  auto s = c.prepare(sql);
  if (!s) return s.take_error();
  sqlite_internal::Stmt st(c.raw(), *s);
  return st.exec(sql);
}

core::Error unavailable(std::string what) {
  return make_error(Errc::kUnavailable, "store: " + std::move(what));
}

std::vector<double> batch_buckets() {
  std::vector<double> b;
  for (double v = 1; v <= 1024; v *= 2) b.push_back(v);
  return b;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Status set_pragmas(Conn& c, const std::string& synchronous, bool writer) {
  std::string sql = "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs) + ";";
  if (writer) {
    sql += "PRAGMA foreign_keys = ON; PRAGMA synchronous = " + synchronous + ";";
    sql += "PRAGMA journal_size_limit = " + std::to_string(kWalSizeLimitBytes) + ";";
    sql += "PRAGMA cache_size = -" + std::to_string(kWriterCacheKiB) + ";";
  } else {
    sql += "PRAGMA query_only = ON;";
  }
  return c.exec_script(sql.c_str());
}

core::Status enable_wal(Conn& c) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(c.raw(), "PRAGMA journal_mode = WAL", -1, &s, nullptr);
  if (rc != SQLITE_OK) return sqlite_internal::db_error(c.raw(), rc, "journal_mode");
  rc = sqlite3_step(s);
  std::string mode;
  if (rc == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) {
    auto e = sqlite_internal::db_error(c.raw(), rc, "journal_mode");
    e.code = Errc::kUnavailable;
    return e;
  }
  if (mode != "wal") return unavailable("cannot switch the database to WAL mode (got " + mode + ")");
  return core::ok_status();
}

}  // namespace

// =============================================================================================
// Opening and closing

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteConfig cfg,
                                                             ops::Registry* metrics) {
  if (cfg.path.empty()) return make_error(Errc::kInvalidArgument, "store path: must not be empty");
  std::transform(cfg.synchronous.begin(), cfg.synchronous.end(), cfg.synchronous.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (cfg.synchronous != "full" && cfg.synchronous != "normal") {
    return make_error(Errc::kInvalidArgument,
                      "store synchronous: must be \"full\" or \"normal\", not \"" +
                          cfg.synchronous + "\"");
  }
  if (cfg.read_connections < 1 || cfg.read_connections > kMaxReadConnections) {
    return make_error(Errc::kInvalidArgument, "store read_connections: must be 1..64");
  }
  if (cfg.max_batch < 1) return make_error(Errc::kInvalidArgument, "store max_batch: must be >= 1");
  if (cfg.max_queue < 1) return make_error(Errc::kInvalidArgument, "store max_queue: must be >= 1");

  std::filesystem::path parent = std::filesystem::path(cfg.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return unavailable("cannot create " + parent.string() + ": " + ec.message());
  }

  auto writer = Conn::open(cfg.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!writer) return writer.take_error();
  Conn& w = **writer;
  if (auto st = enable_wal(w); !st) return st.take_error();
  if (auto st = set_pragmas(w, cfg.synchronous, true); !st) return st.take_error();
  if (auto st = sqlite_internal::migrate(w, wall_ms()); !st) {
    auto e = st.take_error();
    if (e.code != Errc::kUnavailable) e.code = Errc::kUnavailable;
    return e;
  }
  auto epoch = sqlite_internal::load_epoch(w);
  if (!epoch) return epoch.take_error();

  std::vector<std::unique_ptr<Conn>> readers;
  for (int i = 0; i < cfg.read_connections; ++i) {
    auto r = Conn::open(cfg.path, SQLITE_OPEN_READONLY);
    if (!r) return r.take_error();
    if (auto st = set_pragmas(**r, cfg.synchronous, false); !st) return st.take_error();
    readers.push_back(std::move(r.value()));
  }

  Metrics m;
  if (metrics != nullptr) {
    m.commit_seconds = &metrics->histogram("parley_store_commit_seconds",
                                           "Time to run and commit one write batch",
                                           ops::latency_buckets());
    m.batch_size = &metrics->histogram("parley_store_batch_size",
                                       "Write requests per group commit", batch_buckets());
    m.commits = &metrics->counter("parley_store_commits_total", "Group commits");
    m.writes = &metrics->counter("parley_store_writes_total", "Write requests committed");
    m.queue_depth = &metrics->gauge("parley_store_queue_depth",
                                    "Write requests waiting for the writer");
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(cfg), std::move(epoch.value()), m,
                                                     std::move(writer.value()),
                                                     std::move(readers)));
  store->start();
  return store;
}

SqliteStore::SqliteStore(SqliteConfig cfg, std::string epoch, Metrics metrics,
                         std::unique_ptr<Conn> writer, std::vector<std::unique_ptr<Conn>> readers)
    : cfg_(std::move(cfg)),
      epoch_(std::move(epoch)),
      metrics_(metrics),
      writer_conn_(std::move(writer)),
      reader_conns_(std::move(readers)),
      write_q_(std::make_unique<WorkQueue>()),
      read_q_(std::make_unique<WorkQueue>()) {}

void SqliteStore::start() {
  writer_ = std::thread([this] { writer_loop(); });
  for (auto& c : reader_conns_) {
    Conn* conn = c.get();
    readers_.emplace_back([this, conn] { reader_loop(*conn); });
  }
}

SqliteStore::~SqliteStore() {
  // Writes first: their completions may still issue reads, which the readers then finish.
  {
    std::lock_guard lock(write_q_->mu);
    write_q_->stopping = true;
  }
  write_q_->cv.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(read_q_->mu);
    read_q_->stopping = true;
  }
  read_q_->cv.notify_all();
  for (auto& t : readers_) {
    if (t.joinable()) t.join();
  }
  reader_conns_.clear();
  writer_conn_.reset();  // closing the last connection checkpoints the WAL
}

std::string SqliteStore::epoch() const { return epoch_; }

// =============================================================================================
// Queues and workers

void SqliteStore::enqueue(WorkQueue& q, std::unique_ptr<Op> op, bool is_write) {
  std::size_t depth = 0;
  {
    std::unique_lock lock(q.mu);
    if (q.closed) {
      lock.unlock();
      op->fail(unavailable("closed"));  // only during destruction, see the header
      return;
    }
    if (q.pending.size() >= cfg_.max_queue) {
      q.rejected.push_back(std::move(op));
    } else {
      q.pending.push_back(std::move(op));
    }
    depth = q.pending.size();
  }
  if (is_write && metrics_.queue_depth != nullptr) {
    metrics_.queue_depth->set(static_cast<std::int64_t>(depth));
  }
  q.cv.notify_one();
}

template <class T, class Fn>
void SqliteStore::write(Callback<T> done, Fn fn) {
  enqueue(*write_q_, std::make_unique<sqlite_internal::TypedOp<T, Fn>>(std::move(fn), std::move(done)),
          true);
}

template <class T, class Fn>
void SqliteStore::read(Callback<T> done, Fn fn) {
  enqueue(*read_q_, std::make_unique<sqlite_internal::TypedOp<T, Fn>>(std::move(fn), std::move(done)),
          false);
}

void SqliteStore::writer_loop() {
  WorkQueue& q = *write_q_;
  const std::size_t max_batch = static_cast<std::size_t>(cfg_.max_batch);
  std::vector<std::unique_ptr<Op>> batch;
  std::vector<std::unique_ptr<Op>> rejected;
  batch.reserve(max_batch);
  for (;;) {
    std::size_t depth;
    {
      std::unique_lock lock(q.mu);
      q.cv.wait(lock, [&] { return q.stopping || !q.pending.empty() || !q.rejected.empty(); });
      if (q.pending.empty() && q.rejected.empty()) {  // stopping and drained
        q.closed = true;
        break;
      }
      rejected.swap(q.rejected);
      std::size_t n = std::min(q.pending.size(), max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(q.pending.front()));
        q.pending.pop_front();
      }
      depth = q.pending.size();
    }
    if (metrics_.queue_depth != nullptr) metrics_.queue_depth->set(static_cast<std::int64_t>(depth));
    for (auto& op : rejected) op->fail(unavailable("too many queued writes"));
    rejected.clear();
    if (!batch.empty()) run_batch(batch);
    batch.clear();
  }
}

void SqliteStore::run_batch(std::vector<std::unique_ptr<Op>>& batch) {
  const auto t0 = std::chrono::steady_clock::now();
  Conn& c = *writer_conn_;
  auto fail_all = [&](const char* why) {
    if (!c.autocommit()) (void)c.exec_script("ROLLBACK");
    for (auto& op : batch) op->fail(unavailable(why));
  };
  if (!run_cached(c, kBegin)) return fail_all("cannot begin a transaction");
  for (auto& op : batch) {
    if (!run_cached(c, kSavepoint)) return fail_all("cannot open a savepoint");
    bool ok = op->run(c);
    // An I/O error, SQLITE_FULL or similar can make SQLite roll the whole transaction back by
    // itself; then nothing of this batch can be committed.
    if (c.autocommit()) return fail_all("the transaction was rolled back");
    if (!ok && !run_cached(c, kRollbackTo)) return fail_all("cannot roll back a request");
    if (!run_cached(c, kRelease)) return fail_all("cannot release a savepoint");
  }
  if (!run_cached(c, kCommit)) return fail_all("commit failed");
  if (metrics_.commits != nullptr) {
    metrics_.commit_seconds->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    metrics_.batch_size->observe(static_cast<double>(batch.size()));
    metrics_.commits->inc();
    metrics_.writes->inc(batch.size());
  }
  for (auto& op : batch) op->complete();
}

void SqliteStore::reader_loop(Conn& conn) {
  WorkQueue& q = *read_q_;
  std::vector<std::unique_ptr<Op>> rejected;
  for (;;) {
    std::unique_ptr<Op> op;
    {
      std::unique_lock lock(q.mu);
      q.cv.wait(lock, [&] { return q.stopping || !q.pending.empty() || !q.rejected.empty(); });
      if (!q.rejected.empty()) {
        rejected.swap(q.rejected);
      } else if (!q.pending.empty()) {
        op = std::move(q.pending.front());
        q.pending.pop_front();
      } else {  // stopping and drained
        q.closed = true;
        q.cv.notify_all();  // wake the other readers so they see `closed` too
        break;
      }
    }
    for (auto& r : rejected) r->fail(unavailable("too many queued reads"));
    rejected.clear();
    if (op) {
      op->run(conn);
      op->complete();
    }
  }
}

// =============================================================================================
// Store methods: each packs its arguments into a closure run by the writer or a reader.

namespace q = sqlite_internal;

void SqliteStore::ping(Callback<core::Ok> done) {
  read<core::Ok>(std::move(done), [](Conn& c) -> core::Result<core::Ok> {
    PARLEY_SQL(s, c, "SELECT 1");
    if (s.step() != SQLITE_ROW) return unavailable("ping failed");
    return core::Ok{};
  });
}

void SqliteStore::create_user(NewUser u, Callback<core::User> done) {
  write<core::User>(std::move(done), [u = std::move(u)](Conn& c) { return q::insert_user(c, u); });
}

void SqliteStore::user_by_id(Id id, Callback<core::User> done) {
  read<core::User>(std::move(done), [id](Conn& c) { return q::user_by_id(c, id); });
}

void SqliteStore::user_by_username(std::string username, Callback<core::User> done) {
  read<core::User>(std::move(done), [username = std::move(username)](Conn& c) {
    return q::user_by_username(c, username);
  });
}

void SqliteStore::list_users(UserQuery query, Callback<std::vector<core::User>> done) {
  read<std::vector<core::User>>(std::move(done), [query = std::move(query)](Conn& c) {
    return q::list_users(c, query);
  });
}

void SqliteStore::update_user(UserUpdate u, Callback<core::User> done) {
  write<core::User>(std::move(done), [u = std::move(u)](Conn& c) { return q::update_user(c, u); });
}

void SqliteStore::count_users(Callback<std::int64_t> done) {
  read<std::int64_t>(std::move(done), [](Conn& c) { return q::count_users(c); });
}

void SqliteStore::create_session(core::Session s, Callback<core::Session> done) {
  write<core::Session>(std::move(done),
                       [s = std::move(s)](Conn& c) { return q::insert_session(c, s); });
}

void SqliteStore::session_by_token_hash(std::string token_hash, Callback<core::Session> done) {
  read<core::Session>(std::move(done), [token_hash = std::move(token_hash)](Conn& c) {
    return q::session_by_token_hash(c, token_hash);
  });
}

void SqliteStore::touch_session(Id session_id, std::int64_t now, Callback<core::Ok> done) {
  write<core::Ok>(std::move(done),
                  [session_id, now](Conn& c) { return q::touch_session(c, session_id, now); });
}

void SqliteStore::list_sessions(Id user_id, Callback<std::vector<core::Session>> done) {
  read<std::vector<core::Session>>(std::move(done),
                                   [user_id](Conn& c) { return q::list_sessions(c, user_id); });
}

void SqliteStore::delete_session(Id user_id, Id session_id, Callback<core::Ok> done) {
  write<core::Ok>(std::move(done), [user_id, session_id](Conn& c) {
    return q::delete_session(c, user_id, session_id);
  });
}

void SqliteStore::delete_user_sessions(Id user_id, Id keep, Callback<std::int64_t> done) {
  write<std::int64_t>(std::move(done), [user_id, keep](Conn& c) {
    return q::delete_user_sessions(c, user_id, keep);
  });
}

void SqliteStore::create_group_room(NewGroupRoom r, Callback<core::Room> done) {
  write<core::Room>(std::move(done),
                    [r = std::move(r)](Conn& c) { return q::create_group_room(c, r); });
}

void SqliteStore::get_or_create_dm(Id a, Id b, Id new_room_id, std::int64_t now,
                                   Callback<DmResult> done) {
  write<DmResult>(std::move(done), [a, b, new_room_id, now](Conn& c) {
    return q::get_or_create_dm(c, a, b, new_room_id, now);
  });
}

void SqliteStore::room_by_id(Id room_id, Callback<core::Room> done) {
  read<core::Room>(std::move(done), [room_id](Conn& c) { return q::room_by_id(c, room_id); });
}

void SqliteStore::member(Id room_id, Id user_id, Callback<core::Member> done) {
  read<core::Member>(std::move(done),
                     [room_id, user_id](Conn& c) { return q::member(c, room_id, user_id); });
}

void SqliteStore::list_members(Id room_id, Callback<std::vector<core::Member>> done) {
  read<std::vector<core::Member>>(std::move(done),
                                  [room_id](Conn& c) { return q::list_members(c, room_id); });
}

void SqliteStore::rooms_for_user(Id user_id, Callback<std::vector<core::RoomSummary>> done) {
  read<std::vector<core::RoomSummary>>(
      std::move(done), [user_id](Conn& c) { return q::rooms_for_user(c, user_id); });
}

void SqliteStore::room_heads_for_user(Id user_id, Callback<std::vector<RoomHead>> done) {
  read<std::vector<RoomHead>>(std::move(done),
                              [user_id](Conn& c) { return q::room_heads_for_user(c, user_id); });
}

void SqliteStore::add_member(Id room_id, Id user_id, core::MemberRole role, Id actor,
                             std::int64_t now, Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [room_id, user_id, role, actor, now](Conn& c) {
    return q::add_member(c, room_id, user_id, role, actor, now);
  });
}

void SqliteStore::remove_member(Id room_id, Id user_id, Id actor, std::int64_t now,
                                Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [room_id, user_id, actor, now](Conn& c) {
    return q::remove_member(c, room_id, user_id, actor, now);
  });
}

void SqliteStore::update_room(Id room_id, std::optional<std::string> name,
                              std::optional<std::string> topic, Id actor, std::int64_t now,
                              Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [room_id, name = std::move(name),
                                           topic = std::move(topic), actor, now](Conn& c) {
    return q::update_room(c, room_id, name, topic, actor, now);
  });
}

void SqliteStore::append_message(NewMessage m, Callback<AppendResult> done) {
  write<AppendResult>(std::move(done),
                      [m = std::move(m)](Conn& c) { return q::append_message(c, m); });
}

void SqliteStore::edit_message(Id room_id, Id message_id, Id only_sender, std::string body,
                               Id actor, std::int64_t now, Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [room_id, message_id, only_sender,
                                           body = std::move(body), actor, now](Conn& c) {
    MessageEdit e;
    e.room_id = room_id;
    e.message_id = message_id;
    e.only_sender = only_sender;
    e.body = body;
    e.actor = actor;
    e.now = now;
    return q::edit_message(c, e);
  });
}

void SqliteStore::edit_message(MessageEdit e, Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [e = std::move(e)](Conn& c) { return q::edit_message(c, e); });
}

void SqliteStore::delete_message(Id room_id, Id message_id, Id only_sender, Id actor,
                                 std::int64_t now, Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done), [room_id, message_id, only_sender, actor, now](Conn& c) {
    return q::delete_message(c, room_id, message_id, only_sender, actor, now);
  });
}

void SqliteStore::message_by_id(Id message_id, Callback<core::Message> done) {
  read<core::Message>(std::move(done),
                      [message_id](Conn& c) { return q::message_by_id(c, message_id); });
}

void SqliteStore::history(HistoryQuery query, Callback<std::vector<core::Message>> done) {
  read<std::vector<core::Message>>(std::move(done),
                                   [query](Conn& c) { return q::history(c, query); });
}

void SqliteStore::events_since(Id room_id, std::int64_t after_seq, int limit,
                               Callback<std::vector<core::RoomEvent>> done) {
  read<std::vector<core::RoomEvent>>(std::move(done), [room_id, after_seq, limit](Conn& c) {
    return q::events_since(c, room_id, after_seq, limit);
  });
}

void SqliteStore::update_read_state(ReadUpdate u, Callback<core::ReadState> done) {
  write<core::ReadState>(std::move(done), [u](Conn& c) { return q::update_read_state(c, u); });
}

void SqliteStore::mark_all_read(Id user_id, Callback<std::vector<core::ReadState>> done) {
  write<std::vector<core::ReadState>>(std::move(done),
                                      [user_id](Conn& c) { return q::mark_all_read(c, user_id); });
}

void SqliteStore::message_receipts(Id room_id, std::int64_t seq, Id sender_id,
                                   Callback<core::MessageReceipts> done) {
  read<core::MessageReceipts>(std::move(done), [room_id, seq, sender_id](Conn& c) {
    return q::message_receipts(c, room_id, seq, sender_id);
  });
}

void SqliteStore::set_reaction(ReactionUpdate u, Callback<ReactionResult> done) {
  write<ReactionResult>(std::move(done),
                        [u = std::move(u)](Conn& c) { return q::set_reaction(c, u); });
}

void SqliteStore::set_last_seen(Id user_id, std::int64_t at, Callback<core::Ok> done) {
  write<core::Ok>(std::move(done),
                  [user_id, at](Conn& c) { return q::set_last_seen(c, user_id, at); });
}

void SqliteStore::create_attachment(NewAttachment a, Callback<core::Attachment> done) {
  write<core::Attachment>(std::move(done),
                          [a = std::move(a)](Conn& c) { return q::insert_attachment(c, a); });
}

void SqliteStore::attachment_by_id(Id id, Callback<core::Attachment> done) {
  read<core::Attachment>(std::move(done), [id](Conn& c) { return q::attachment_by_id(c, id); });
}

void SqliteStore::storage_used(Id user_id, Callback<std::int64_t> done) {
  read<std::int64_t>(std::move(done), [user_id](Conn& c) { return q::storage_used(c, user_id); });
}

void SqliteStore::create_upload(PendingUpload u, std::int64_t quota,
                                Callback<PendingUpload> done) {
  write<PendingUpload>(std::move(done), [u = std::move(u), quota](Conn& c) {
    return q::insert_upload(c, u, quota);
  });
}

void SqliteStore::upload_by_id(Id id, Callback<PendingUpload> done) {
  read<PendingUpload>(std::move(done), [id](Conn& c) { return q::upload_by_id(c, id); });
}

void SqliteStore::delete_upload(Id user_id, Id upload_id, Callback<core::Ok> done) {
  write<core::Ok>(std::move(done), [user_id, upload_id](Conn& c) {
    return q::delete_upload(c, user_id, upload_id);
  });
}

void SqliteStore::lease_upload(UploadLease l, Callback<PendingUpload> done) {
  write<PendingUpload>(std::move(done), [l](Conn& c) { return q::lease_upload(c, l); });
}

void SqliteStore::release_upload(Id upload_id, std::int64_t token, std::int64_t offset,
                                 std::int64_t now, Callback<PendingUpload> done) {
  write<PendingUpload>(std::move(done), [upload_id, token, offset, now](Conn& c) {
    return q::release_upload(c, upload_id, token, offset, now);
  });
}

void SqliteStore::sweep_unsent(std::int64_t before, int limit, Callback<SweepResult> done) {
  write<SweepResult>(std::move(done),
                     [before, limit](Conn& c) { return q::sweep_unsent(c, before, limit); });
}

void SqliteStore::referenced_blobs(std::vector<std::string> keys,
                                   Callback<std::vector<std::string>> done) {
  read<std::vector<std::string>>(std::move(done), [keys = std::move(keys)](Conn& c) {
    return q::referenced_blobs(c, keys);
  });
}

void SqliteStore::change_room(RoomChange ch, Callback<core::RoomEvent> done) {
  write<core::RoomEvent>(std::move(done),
                         [ch = std::move(ch)](Conn& c) { return q::change_room(c, ch); });
}

void SqliteStore::set_pin(PinUpdate u, Callback<PinResult> done) {
  write<PinResult>(std::move(done), [u](Conn& c) { return q::set_pin(c, u); });
}

void SqliteStore::list_pins(Id room_id, Callback<std::vector<core::Pin>> done) {
  read<std::vector<core::Pin>>(std::move(done),
                               [room_id](Conn& c) { return q::list_pins(c, room_id); });
}

void SqliteStore::set_thread_follow(FollowUpdate u, Callback<bool> done) {
  write<bool>(std::move(done), [u](Conn& c) { return q::set_thread_follow(c, u); });
}

void SqliteStore::thread_follow(Id root_id, Id user_id, Callback<bool> done) {
  read<bool>(std::move(done),
             [root_id, user_id](Conn& c) { return q::thread_follow(c, root_id, user_id); });
}

void SqliteStore::list_followed_threads(Id user_id, int limit,
                                        Callback<std::vector<core::FollowedThread>> done) {
  read<std::vector<core::FollowedThread>>(std::move(done), [user_id, limit](Conn& c) {
    return q::list_followed_threads(c, user_id, limit);
  });
}

void SqliteStore::mark_thread_read(Id root_id, Id user_id, std::int64_t seq,
                                   Callback<core::FollowedThread> done) {
  write<core::FollowedThread>(std::move(done), [root_id, user_id, seq](Conn& c) {
    return q::mark_thread_read(c, root_id, user_id, seq);
  });
}

void SqliteStore::message_revisions(Id message_id,
                                    Callback<std::vector<core::MessageRevision>> done) {
  read<std::vector<core::MessageRevision>>(
      std::move(done), [message_id](Conn& c) { return q::message_revisions(c, message_id); });
}

void SqliteStore::search(SearchQuery query, Callback<std::vector<SearchHit>> done) {
  read<std::vector<SearchHit>>(std::move(done),
                               [query = std::move(query)](Conn& c) { return q::search(c, query); });
}

void SqliteStore::blobs_needing_text(std::vector<std::string> mime_types, int limit,
                                     Callback<std::vector<core::Attachment>> done) {
  read<std::vector<core::Attachment>>(
      std::move(done), [mime_types = std::move(mime_types), limit](Conn& c) {
        return q::blobs_needing_text(c, mime_types, limit);
      });
}

void SqliteStore::set_blob_text(BlobText t, Callback<std::int64_t> done) {
  write<std::int64_t>(std::move(done),
                      [t = std::move(t)](Conn& c) { return q::set_blob_text(c, t); });
}

}  // namespace parley::store
