// The SQLite store: the shared conformance suite on real database files in a temp directory,
// plus what only this backend has (files, reopen, migrations, queue limit, group commit).
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

#include "store/conformance/store_conformance.h"
#include "store/sqlite/internal/queries.h"

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using conformance::call;
using core::Errc;
using core::Id;
using core::Result;

// One directory per test process, removed when the tests end.
class TempRoot : public ::testing::Environment {
 public:
  static fs::path make_dir() {
    static std::atomic<int> n{0};
    fs::path dir = root() / ("db-" + std::to_string(++n));
    fs::create_directories(dir);
    return dir;
  }
  static fs::path root() {
    return fs::temp_directory_path() / ("parley-store-test-" + std::to_string(::getpid()));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root(), ec);
  }
};
const auto* const kTempRoot = ::testing::AddGlobalTestEnvironment(new TempRoot);

std::unique_ptr<SqliteStore> open_at(const fs::path& file, SqliteConfig cfg = {},
                                     ops::Registry* metrics = nullptr) {
  cfg.path = file.string();
  auto s = SqliteStore::open(std::move(cfg), metrics);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
  return s ? std::move(s.value()) : nullptr;
}

PARLEY_STORE_CONFORMANCE(Sqlite, []() -> std::unique_ptr<Store> {
  return open_at(TempRoot::make_dir() / "parley.db");
});

class SqliteStoreTest : public ::testing::Test {
 protected:
  fs::path file_ = TempRoot::make_dir() / "parley.db";
  Id last_id_ = 5'000'000;
  std::int64_t now_ = 1'750'000'000'000;

  NewUser new_user(const std::string& name) {
    NewUser u;
    u.id = ++last_id_;
    u.username = name;
    u.display_name = name;
    u.password_hash = "h";
    u.created_at = ++now_;
    return u;
  }
  core::User user(Store& s, const std::string& name) {
    auto u = new_user(name);
    return call<core::User>([&](auto d) { s.create_user(u, std::move(d)); }).value();
  }
  core::Room group(Store& s, const core::User& owner) {
    NewGroupRoom r;
    r.id = ++last_id_;
    r.name = "team";
    r.created_by = owner.id;
    r.created_at = ++now_;
    return call<core::Room>([&](auto d) { s.create_group_room(r, std::move(d)); }).value();
  }
  NewMessage new_message(const core::Room& room, const core::User& sender) {
    NewMessage m;
    m.id = ++last_id_;
    m.room_id = room.id;
    m.sender_id = sender.id;
    m.client_txn_id = "txn-" + std::to_string(m.id);
    m.body = "hello";
    m.created_at = ++now_;
    return m;
  }
  Result<AppendResult> send(Store& s, const core::Room& room, const core::User& sender) {
    auto m = new_message(room, sender);
    return call<AppendResult>([&](auto d) { s.append_message(m, std::move(d)); });
  }
  // Runs a query on the file with a separate connection, as an operator would.
  std::int64_t scalar(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(file_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
  }
};

// Holds the writer thread inside a completion until released, so the test controls what is
// queued behind it. (Real callers must never block in a completion.)
class WriterGate {
 public:
  Callback<core::User> blocking_callback() {
    return [this](Result<core::User>) {
      entered_.set_value();
      release_future_.wait();
    };
  }
  void wait_entered() { entered_.get_future().wait(); }
  void release() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST_F(SqliteStoreTest, DataAndEpochSurviveReopenAndSeqsContinue) {
  std::string epoch;
  Id alice_id = 0, room_id = 0;
  {
    auto s = open_at(file_);
    ASSERT_TRUE(s);
    epoch = s->epoch();
    auto alice = user(*s, "alice");
    auto room = group(*s, alice);
    alice_id = alice.id;
    room_id = room.id;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(send(*s, room, alice).ok());
  }
  auto s = open_at(file_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->epoch(), epoch);
  auto alice = call<core::User>([&](auto d) { s->user_by_id(alice_id, std::move(d)); });
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->username, "alice");
  auto room = call<core::Room>([&](auto d) { s->room_by_id(room_id, std::move(d)); });
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->last_seq, 3);
  auto next = send(*s, *room, *alice);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->event.seq, 4);
}

TEST_F(SqliteStoreTest, EpochIsRandomHexPerDatabase) {
  auto a = open_at(file_);
  auto b = open_at(TempRoot::make_dir() / "other.db");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->epoch().size(), 32u);
  EXPECT_EQ(a->epoch().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a->epoch(), b->epoch());
}

TEST_F(SqliteStoreTest, MigrationsApplyOnceAndReopenIsIdempotent) {
  for (int i = 0; i < 3; ++i) {
    auto s = open_at(file_);
    ASSERT_TRUE(s);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"),
            sqlite_internal::schema_migration_count());
  EXPECT_EQ(scalar("SELECT max(version) FROM schema_migrations"),
            sqlite_internal::latest_schema_version());
  EXPECT_EQ(scalar("SELECT count(*) FROM meta WHERE key = 'epoch'"), 1);
}

// Migrations land on main out of order (6 before 5): a database that has a later one but lacks
// an earlier one gets the missing one on the next open.
TEST_F(SqliteStoreTest, MigrationMissingBelowTheNewestIsApplied) {
  { ASSERT_TRUE(open_at(file_)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE attachments; DROP TABLE uploads; "
                         "DELETE FROM schema_migrations WHERE version = 6",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  { ASSERT_TRUE(open_at(file_)); }
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations WHERE version = 6"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM attachments"), 0);
}

TEST_F(SqliteStoreTest, DatabaseFromANewerBuildIsRefused) {
  { ASSERT_TRUE(open_at(file_)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(999, 0)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteConfig cfg;
  cfg.path = file_.string();
  auto s = SqliteStore::open(cfg, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kUnavailable);
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST_F(SqliteStoreTest, CreatesMissingDirectoriesAndUsesWal) {
  fs::path nested = TempRoot::make_dir() / "a" / "b" / "parley.db";
  {
    auto s = open_at(nested);
    ASSERT_TRUE(s);
    EXPECT_TRUE(fs::exists(nested));
    auto alice = user(*s, "alice");
    EXPECT_TRUE(fs::exists(nested.string() + "-wal"));
  }
  file_ = nested;
  EXPECT_EQ(scalar("SELECT count(*) FROM users"), 1);
}

TEST_F(SqliteStoreTest, BadConfigAndBadFilesAreRefused) {
  SqliteConfig cfg;
  cfg.path = file_.string();
  cfg.synchronous = "sometimes";
  auto r = SqliteStore::open(cfg, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("synchronous"), std::string::npos);

  cfg.synchronous = "NORMAL";  // case-insensitive
  cfg.read_connections = 0;
  r = SqliteStore::open(cfg, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("read_connections"), std::string::npos);

  cfg.path = "";
  cfg.read_connections = 2;
  EXPECT_EQ(SqliteStore::open(cfg, nullptr).error().code, Errc::kInvalidArgument);

  fs::path junk = TempRoot::make_dir() / "junk.db";
  {
    std::ofstream out(junk);
    out << std::string(8192, 'x');
  }
  cfg.path = junk.string();
  r = SqliteStore::open(cfg, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
}

TEST_F(SqliteStoreTest, FullQueueFailsFastWithUnavailable) {
  SqliteConfig cfg;
  cfg.max_queue = 2;
  auto s = open_at(file_, cfg);
  ASSERT_TRUE(s);
  WriterGate gate;
  s->create_user(new_user("blocker"), gate.blocking_callback());
  gate.wait_entered();  // the writer is now busy; everything below queues behind it

  std::mutex mu;
  std::vector<std::string> order;
  std::vector<std::promise<Result<core::User>>> results(3);
  std::vector<NewUser> users{new_user("u1"), new_user("u2"), new_user("u3")};
  for (int i = 0; i < 3; ++i) {
    s->create_user(users[i], [&, i](Result<core::User> r) {
      {
        std::lock_guard lock(mu);
        order.push_back(users[i].username);
      }
      results[i].set_value(std::move(r));
    });
  }
  gate.release();
  auto r1 = results[0].get_future().get();
  auto r2 = results[1].get_future().get();
  auto r3 = results[2].get_future().get();
  EXPECT_TRUE(r1.ok());
  EXPECT_TRUE(r2.ok());
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, Errc::kUnavailable);
  EXPECT_EQ(order.front(), "u3");  // rejections are delivered before queued work runs
  EXPECT_EQ(call<core::User>([&](auto d) { s->user_by_id(users[2].id, std::move(d)); }).error().code,
            Errc::kNotFound);
}

TEST_F(SqliteStoreTest, QueuedWritesCommitTogetherUpToMaxBatch) {
  ops::Registry metrics;
  SqliteConfig cfg;
  cfg.max_batch = 100;
  auto s = open_at(file_, cfg, &metrics);
  ASSERT_TRUE(s);
  auto alice = user(*s, "alice");
  auto room = group(*s, alice);
  auto& commits = metrics.counter("parley_store_commits_total", "");
  auto& writes = metrics.counter("parley_store_writes_total", "");
  std::uint64_t commits_before = commits.value(), writes_before = writes.value();

  WriterGate gate;
  s->create_user(new_user("blocker"), gate.blocking_callback());
  gate.wait_entered();
  constexpr int kN = 450;
  std::atomic<int> ok{0};
  std::promise<void> all_done;
  std::atomic<int> left{kN};
  for (int i = 0; i < kN; ++i) {
    s->append_message(new_message(room, alice), [&](Result<AppendResult> r) {
      if (r) ++ok;
      if (--left == 0) all_done.set_value();
    });
  }
  gate.release();
  all_done.get_future().wait();
  EXPECT_EQ(ok.load(), kN);
  // The blocker's own commit, then 450 queued writes in batches of at most 100: 5 commits.
  EXPECT_EQ(commits.value() - commits_before, 1u + 5u);
  EXPECT_EQ(writes.value() - writes_before, 1u + kN);
  std::string text = metrics.render();
  for (const char* name : {"parley_store_commit_seconds", "parley_store_batch_size",
                           "parley_store_queue_depth"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

TEST_F(SqliteStoreTest, DestructorFinishesQueuedWrites) {
  Id room_id = 0;
  constexpr int kN = 300;
  std::atomic<int> ok{0};
  {
    auto s = open_at(file_);
    ASSERT_TRUE(s);
    auto alice = user(*s, "alice");
    auto room = group(*s, alice);
    room_id = room.id;
    for (int i = 0; i < kN; ++i) {
      s->append_message(new_message(room, alice), [&](Result<AppendResult> r) {
        if (r) ++ok;
      });
    }
  }  // destroyed with writes still queued
  EXPECT_EQ(ok.load(), kN);
  EXPECT_EQ(scalar("SELECT last_seq FROM rooms WHERE id = " + std::to_string(room_id)), kN);
  EXPECT_EQ(scalar("SELECT count(*) FROM messages"), kN);
}

TEST(SqliteSearchTest, MatchExpressionQuotesEveryTerm) {
  using K = SearchTerm::Kind;
  std::vector<SearchTerm> terms = {{K::kWord, "deploy", false},
                                   {K::kPhrase, "say \"hi\" NEAR(x", false},
                                   {K::kPrefix, "rel", false},
                                   {K::kWord, "body:old", true},
                                   {K::kPrefix, "^x", true}};
  EXPECT_EQ(sqlite_internal::fts5_match_expression(terms, true),
            R"(("deploy" AND "say ""hi"" NEAR(x" AND "rel" *) NOT "body:old" NOT "^x" *)");
  EXPECT_EQ(sqlite_internal::fts5_match_expression(terms, false), R"("body:old" OR "^x" *)");
  EXPECT_EQ(sqlite_internal::fts5_match_expression({terms[3]}, true), "");
}

TEST_F(SqliteStoreTest, NewMemberStartsWithNothingUnread) {
  auto s = open_at(file_);
  ASSERT_TRUE(s);
  auto alice = user(*s, "alice");
  auto bob = user(*s, "bob");
  auto room = group(*s, alice);
  ASSERT_TRUE(send(*s, room, alice).ok());
  ASSERT_TRUE(send(*s, room, alice).ok());
  auto joined = call<core::RoomEvent>([&](auto d) {
    s->add_member(room.id, bob.id, core::MemberRole::kMember, alice.id, ++now_, std::move(d));
  });
  ASSERT_TRUE(joined.ok());
  auto m = call<core::Member>([&](auto d) { s->member(room.id, bob.id, std::move(d)); });
  EXPECT_EQ(m->last_read_seq, joined->seq);
  ASSERT_TRUE(send(*s, room, alice).ok());
  auto rooms = call<std::vector<core::RoomSummary>>(
      [&](auto d) { s->rooms_for_user(bob.id, std::move(d)); });
  ASSERT_EQ(rooms->size(), 1u);
  EXPECT_EQ((*rooms)[0].unread, 1);
}

}  // namespace
}  // namespace parley::store
