// Behaviour of accounts and sessions: AuthService over a real store (SQLite in a temp dir when
// parley_store_sqlite is built; always also over a small in-memory fake), a fast argon2id
// hasher, a ManualClock and a recording publisher in place of the gateway.
#include "auth/auth_service.h"

#include <gtest/gtest.h>

#include "core/testing/wait.h"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "auth/password_hasher.h"
#include "chat/publisher.h"

#ifdef PARLEY_TEST_SQLITE
#include "store/sqlite/sqlite_store.h"
#endif

namespace parley::auth {
namespace {

using core::Errc;
using core::Id;

// --- a minimal in-memory Store: users and sessions only, callbacks on its own thread.
class MemoryStore final : public store::Store {
 public:
  MemoryStore() : worker_([this] { run(); }) {}
  ~MemoryStore() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  std::string epoch() const override { return "memory"; }
  void ping(store::Callback<core::Ok> done) override { post(done, core::Ok{}); }

  void create_user(store::NewUser u, store::Callback<core::User> done) override {
    std::lock_guard lock(mu_);
    for (auto& [id, existing] : users_) {
      if (existing.username == u.username) return post_locked(done, conflict());
    }
    core::User user{u.id, u.username, u.display_name, u.email, u.password_hash, u.role,
                    core::UserStatus::kActive, u.created_at, 0};
    users_[u.id] = user;
    post_locked(done, user);
  }
  void user_by_id(Id id, store::Callback<core::User> done) override {
    std::lock_guard lock(mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return post_locked(done, not_found());
    post_locked(done, it->second);
  }
  void user_by_username(std::string username, store::Callback<core::User> done) override {
    std::lock_guard lock(mu_);
    for (auto& [id, u] : users_) {
      if (u.username == username) return post_locked(done, u);
    }
    post_locked(done, not_found());
  }
  void list_users(store::UserQuery q, store::Callback<std::vector<core::User>> done) override {
    std::lock_guard lock(mu_);
    std::vector<core::User> out;
    for (auto& [id, u] : users_) {
      if (id > q.after_id && static_cast<int>(out.size()) < q.limit) out.push_back(u);
    }
    post_locked(done, out);
  }
  void update_user(store::UserUpdate up, store::Callback<core::User> done) override {
    std::lock_guard lock(mu_);
    auto it = users_.find(up.id);
    if (it == users_.end()) return post_locked(done, not_found());
    auto& u = it->second;
    if (up.display_name) u.display_name = *up.display_name;
    if (up.email) u.email = *up.email;
    if (up.password_hash) u.password_hash = *up.password_hash;
    if (up.role) u.role = *up.role;
    if (up.status) u.status = *up.status;
    post_locked(done, u);
  }
  void count_users(store::Callback<std::int64_t> done) override {
    std::lock_guard lock(mu_);
    post_locked(done, static_cast<std::int64_t>(users_.size()));
  }
  void create_session(core::Session s, store::Callback<core::Session> done) override {
    std::lock_guard lock(mu_);
    sessions_[s.id] = s;
    post_locked(done, s);
  }
  void session_by_token_hash(std::string token_hash, store::Callback<core::Session> done) override {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) {
      if (s.token_hash == token_hash) return post_locked(done, s);
    }
    post_locked(done, not_found());
  }
  void touch_session(Id session_id, std::int64_t now, store::Callback<core::Ok> done) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return post_locked(done, not_found());
    it->second.last_used = now;
    post_locked(done, core::Ok{});
  }
  void list_sessions(Id user_id, store::Callback<std::vector<core::Session>> done) override {
    std::lock_guard lock(mu_);
    std::vector<core::Session> out;
    for (auto& [id, s] : sessions_) {
      if (s.user_id == user_id) out.push_back(s);
    }
    post_locked(done, out);
  }
  void delete_session(Id user_id, Id session_id, store::Callback<core::Ok> done) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end() || it->second.user_id != user_id) return post_locked(done, not_found());
    sessions_.erase(it);
    post_locked(done, core::Ok{});
  }
  void delete_user_sessions(Id user_id, Id keep, store::Callback<std::int64_t> done) override {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second.user_id == user_id && it->first != keep) {
        it = sessions_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    post_locked(done, n);
  }

  // Rooms and messages are not used by the auth service.
  void create_group_room(store::NewGroupRoom, store::Callback<core::Room> d) override { post(d, unsupported()); }
  void get_or_create_dm(Id, Id, Id, std::int64_t, store::Callback<store::DmResult> d) override { post(d, unsupported()); }
  void room_by_id(Id, store::Callback<core::Room> d) override { post(d, unsupported()); }
  void member(Id, Id, store::Callback<core::Member> d) override { post(d, unsupported()); }
  void list_members(Id, store::Callback<std::vector<core::Member>> d) override { post(d, unsupported()); }
  void rooms_for_user(Id, store::Callback<std::vector<core::RoomSummary>> d) override { post(d, unsupported()); }
  void add_member(Id, Id, core::MemberRole, Id, std::int64_t, store::Callback<core::RoomEvent> d) override { post(d, unsupported()); }
  void remove_member(Id, Id, Id, std::int64_t, store::Callback<core::RoomEvent> d) override { post(d, unsupported()); }
  void update_room(Id, std::optional<std::string>, std::optional<std::string>, Id, std::int64_t,
                   store::Callback<core::RoomEvent> d) override { post(d, unsupported()); }
  void append_message(store::NewMessage, store::Callback<store::AppendResult> d) override { post(d, unsupported()); }
  void edit_message(Id, Id, Id, std::string, Id, std::int64_t, store::Callback<core::RoomEvent> d) override { post(d, unsupported()); }
  void delete_message(Id, Id, Id, Id, std::int64_t, store::Callback<core::RoomEvent> d) override { post(d, unsupported()); }
  void message_by_id(Id, store::Callback<core::Message> d) override { post(d, unsupported()); }
  void history(store::HistoryQuery, store::Callback<std::vector<core::Message>> d) override { post(d, unsupported()); }
  void events_since(Id, std::int64_t, int, store::Callback<std::vector<core::RoomEvent>> d) override { post(d, unsupported()); }

 private:
  static core::Error not_found() { return core::make_error(Errc::kNotFound, "not found"); }
  static core::Error conflict() { return core::make_error(Errc::kConflict, "username is taken"); }
  static core::Error unsupported() { return core::make_error(Errc::kInternal, "not in the fake"); }

  // Data and queue share one mutex, and a callback is queued before it is released: the
  // worker cannot run it (and a test cannot destroy the store) while a method is still inside.
  template <class T>
  void post_locked(store::Callback<T> done, std::type_identity_t<core::Result<T>> r) {
    q_.push_back([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    cv_.notify_one();
  }
  template <class T>
  void post(store::Callback<T> done, std::type_identity_t<core::Result<T>> r) {
    std::lock_guard lock(mu_);
    post_locked(std::move(done), std::move(r));
  }
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !q_.empty(); });
        if (q_.empty()) return;
        job = std::move(q_.front());
        q_.pop_front();
      }
      job();
    }
  }

  std::map<Id, core::User> users_;
  std::map<Id, core::Session> sessions_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool stop_ = false;
  std::thread worker_;
};

class RecordingPublisher final : public chat::Publisher {
 public:
  void room_event(const core::RoomEvent&) override {}
  void room_joined(Id, const core::Room&) override {}
  void sessions_revoked(Id user_id, Id session_id) override {
    std::lock_guard lock(mu_);
    revoked_.emplace_back(user_id, session_id);
  }
  std::vector<std::pair<Id, Id>> revoked() {
    std::lock_guard lock(mu_);
    return revoked_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<Id, Id>> revoked_;
};

using test::wait;

const Actor kAdmin{0, core::Role::kAdmin, 0, "cli"};
constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kHour = 60 * kMinute;

enum class Backend { kMemory, kSqlite };

class AuthServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    config_.idle_timeout_ms = 2 * kHour;
    config_.absolute_ttl_ms = 5 * kHour;
    config_.touch_interval_ms = kMinute;
    config_.ip_attempts_per_minute = 100;
    config_.account_attempts_per_minute = 100;
    open_store();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void open_store() {
    if (GetParam() == Backend::kMemory) {
      store_ = std::make_unique<MemoryStore>();
      return;
    }
#ifdef PARLEY_TEST_SQLITE
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-auth-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store::SqliteConfig cfg;
    cfg.path = (dir_ / "parley.db").string();
    cfg.synchronous = "normal";
    store_ = std::move(store::SqliteStore::open(cfg, nullptr).value());
#endif
  }

  AuthService& auth() {
    if (!service_) {
      service_ = std::make_unique<AuthService>(
          AuthService::Deps{*store_, hasher_, clock_, ids_, publisher_}, config_);
    }
    return *service_;
  }

  core::Result<core::User> register_user(const std::string& name, const std::string& password,
                                         const std::string& invite = "", const std::string& ip = "10.0.0.1") {
    RegisterRequest req;
    req.username = name;
    req.password = password;
    req.invite_code = invite;
    req.ip = ip;
    return wait<core::User>([&](auto done) { auth().register_user(req, done); });
  }
  core::Result<LoginResult> login(const std::string& name, const std::string& password,
                                  const std::string& ip = "10.0.0.1") {
    LoginRequest req;
    req.username = name;
    req.password = password;
    req.device = "test\x01 device";
    req.ip = ip;
    return wait<LoginResult>([&](auto done) { auth().login(req, done); });
  }
  core::Result<AuthContext> authenticate(const std::string& token) {
    return wait<AuthContext>([&](auto done) { auth().authenticate(token, done); });
  }
  static Actor actor_of(const LoginResult& r) {
    return Actor{r.user.id, r.user.role, r.session.id, r.user.username};
  }
  // touch_session is fire and forget: wait until the store shows it.
  void wait_for_last_used(const LoginResult& r, std::int64_t at) {
    for (int i = 0; i < 200; ++i) {
      auto list = wait<std::vector<core::Session>>(
          [&](auto done) { store_->list_sessions(r.user.id, done); });
      for (auto& s : *list) {
        if (s.id == r.session.id && s.last_used == at) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "last_used never written";
  }

  AuthConfig config_;
  core::ManualClock clock_{1'750'000'000'000};
  core::IdGenerator ids_{clock_, 1};
  PasswordHasher hasher_{PasswordHasherConfig{.threads = 2, .opslimit = 1, .memlimit_bytes = 8192}};
  RecordingPublisher publisher_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuthService> service_;
};

TEST_P(AuthServiceTest, RegisterLoginAuthenticateLogoutRoundTrip) {
  auto user = register_user("Alice", "correct horse");
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ(user->username, "alice");
  EXPECT_EQ(user->display_name, "alice");
  EXPECT_EQ(user->role, core::Role::kUser);  // the first user is not an admin by itself
  EXPECT_TRUE(user->password_hash.empty());  // never handed out

  auto in = login("ALICE", "correct horse");
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->token.size(), 43u);
  EXPECT_EQ(in->session.token_hash, hash_token(in->token));
  EXPECT_EQ(in->session.device, "test device");
  EXPECT_EQ(in->session.expires_at, clock_.now_ms() + config_.absolute_ttl_ms);

  auto ctx = authenticate(in->token);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(ctx->actor.user_id, user->id);
  EXPECT_EQ(ctx->actor.session_id, in->session.id);
  EXPECT_EQ(ctx->actor.username, "alice");
  EXPECT_TRUE(ctx->user.password_hash.empty());

  auto out = wait<core::Ok>([&](auto done) { auth().logout(ctx->actor, done); });
  ASSERT_TRUE(out.ok());
  auto after = authenticate(in->token);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, Errc::kUnauthorized);
  EXPECT_EQ(publisher_.revoked(), (std::vector<std::pair<Id, Id>>{{user->id, in->session.id}}));
}

TEST_P(AuthServiceTest, GarbageTokensAreUnauthorized) {
  EXPECT_EQ(authenticate("").error().code, Errc::kUnauthorized);
  EXPECT_EQ(authenticate(generate_token()).error().code, Errc::kUnauthorized);
  EXPECT_EQ(authenticate(std::string(10000, 'a')).error().code, Errc::kUnauthorized);
}

TEST_P(AuthServiceTest, WrongPasswordAndUnknownUserGiveTheSameAnswer) {
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  auto wrong = login("alice", "wrong horse");
  auto unknown = login("mallory", "correct horse");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.error().code, Errc::kUnauthorized);
  EXPECT_EQ(unknown.error().code, wrong.error().code);
  EXPECT_EQ(unknown.error().message, wrong.error().message);
}

TEST_P(AuthServiceTest, CallbacksNeverRunOnTheCallersThread) {
  config_.registration = RegistrationMode::kClosed;
  const auto me = std::this_thread::get_id();
  std::promise<std::thread::id> where;
  RegisterRequest req;
  req.username = "alice";
  req.password = "correct horse";
  auth().register_user(req, [&](core::Result<core::User> r) {
    EXPECT_FALSE(r.ok());
    where.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(where.get_future().get(), me);
}

TEST_P(AuthServiceTest, DuplicateUsernamesConflictCaseInsensitively) {
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  auto again = register_user("ALICE", "another password");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kConflict);
}

TEST_P(AuthServiceTest, RegistrationValidatesInput) {
  EXPECT_EQ(register_user("a", "correct horse").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(register_user("alice", "short").error().code, Errc::kInvalidArgument);
  RegisterRequest req;
  req.username = "bob";
  req.password = "correct horse";
  req.email = "not an email";
  EXPECT_EQ(wait<core::User>([&](auto done) { auth().register_user(req, done); }).error().code,
            Errc::kInvalidArgument);
  req.email = "";
  req.display_name = std::string(100, 'x');
  EXPECT_FALSE(wait<core::User>([&](auto done) { auth().register_user(req, done); }).ok());
  req.display_name = "Bob \xF0\x9F\x98\x80";
  auto ok = wait<core::User>([&](auto done) { auth().register_user(req, done); });
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->display_name, "Bob \xF0\x9F\x98\x80");
}

TEST_P(AuthServiceTest, DeactivatedUsersCannotLogInAndTheirTokensStopWorking) {
  auto user = register_user("alice", "correct horse");
  ASSERT_TRUE(user.ok());
  auto in = login("alice", "correct horse");
  ASSERT_TRUE(in.ok());

  // A plain user may not deactivate anyone.
  auto denied = wait<core::User>(
      [&](auto done) { auth().admin_deactivate(actor_of(*in), 12345, done); });
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kForbidden);

  auto off = wait<core::User>([&](auto done) { auth().admin_deactivate(kAdmin, user->id, done); });
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->status, core::UserStatus::kDeactivated);
  EXPECT_EQ(authenticate(in->token).error().code, Errc::kUnauthorized);
  auto again = login("alice", "correct horse");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kUnauthorized);
  EXPECT_EQ(again.error().message, login("alice", "wrong horse").error().message);
  EXPECT_EQ(publisher_.revoked(), (std::vector<std::pair<Id, Id>>{{user->id, 0}}));
}

TEST_P(AuthServiceTest, SessionsExpireWhenIdle) {
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  auto in = login("alice", "correct horse");
  ASSERT_TRUE(in.ok());
  // Used within the idle timeout: stays alive (and last_used moves forward).
  clock_.advance_ms(90 * kMinute);
  ASSERT_TRUE(authenticate(in->token).ok());
  wait_for_last_used(*in, clock_.now_ms());
  clock_.advance_ms(90 * kMinute);  // 3 h after login, 1.5 h after last use
  ASSERT_TRUE(authenticate(in->token).ok());
  wait_for_last_used(*in, clock_.now_ms());
  // Then unused for the whole idle timeout: gone.
  clock_.advance_ms(2 * kHour);
  auto late = authenticate(in->token);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::kUnauthorized);
}

TEST_P(AuthServiceTest, SessionsExpireAfterTheAbsoluteTtlEvenWhenUsed) {
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  auto in = login("alice", "correct horse");
  ASSERT_TRUE(in.ok());
  for (int i = 0; i < 4; ++i) {  // used every hour for 4 h
    clock_.advance_ms(kHour);
    ASSERT_TRUE(authenticate(in->token).ok()) << "hour " << i + 1;
    wait_for_last_used(*in, clock_.now_ms());
  }
  clock_.advance_ms(kHour);  // 5 h after login
  EXPECT_EQ(authenticate(in->token).error().code, Errc::kUnauthorized);
  // Logging in again gives a fresh session.
  auto fresh = login("alice", "correct horse");
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(authenticate(fresh->token).ok());
}

TEST_P(AuthServiceTest, ChangePasswordKeepsTheCurrentSessionAndRevokesTheOthers) {
  auto user = register_user("alice", "correct horse");
  ASSERT_TRUE(user.ok());
  auto laptop = login("alice", "correct horse");
  auto phone = login("alice", "correct horse");
  ASSERT_TRUE(laptop.ok() && phone.ok());

  auto wrong = wait<core::Ok>([&](auto done) {
    auth().change_password(actor_of(*laptop), "not my password", "battery staple", done);
  });
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::kForbidden);  // not 401: the client must not log out
  EXPECT_TRUE(authenticate(phone->token).ok());

  auto changed = wait<core::Ok>([&](auto done) {
    auth().change_password(actor_of(*laptop), "correct horse", "battery staple", done);
  });
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_TRUE(authenticate(laptop->token).ok());
  EXPECT_EQ(authenticate(phone->token).error().code, Errc::kUnauthorized);
  EXPECT_EQ(publisher_.revoked(), (std::vector<std::pair<Id, Id>>{{user->id, phone->session.id}}));
  EXPECT_EQ(login("alice", "correct horse").error().code, Errc::kUnauthorized);
  EXPECT_TRUE(login("alice", "battery staple").ok());
}

TEST_P(AuthServiceTest, SessionsAreListedAndRevokedByTheirOwnerOnly) {
  auto alice = register_user("alice", "correct horse");
  auto bob = register_user("bob", "correct horse");
  ASSERT_TRUE(alice.ok() && bob.ok());
  auto a1 = login("alice", "correct horse");
  auto a2 = login("alice", "correct horse");
  auto b1 = login("bob", "correct horse");
  ASSERT_TRUE(a1.ok() && a2.ok() && b1.ok());

  auto mine = wait<std::vector<core::Session>>(
      [&](auto done) { auth().list_sessions(actor_of(*a1), done); });
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 2u);

  auto theirs = wait<core::Ok>(
      [&](auto done) { auth().revoke_session(actor_of(*a1), b1->session.id, done); });
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, Errc::kNotFound);
  EXPECT_TRUE(authenticate(b1->token).ok());

  auto revoked = wait<core::Ok>(
      [&](auto done) { auth().revoke_session(actor_of(*a1), a2->session.id, done); });
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(authenticate(a2->token).error().code, Errc::kUnauthorized);
  EXPECT_TRUE(authenticate(a1->token).ok());
  EXPECT_EQ(publisher_.revoked(), (std::vector<std::pair<Id, Id>>{{alice->id, a2->session.id}}));
}

TEST_P(AuthServiceTest, LoginIsRateLimitedPerIpAndPerAccount) {
  config_.ip_attempts_per_minute = 3;
  config_.account_attempts_per_minute = 5;
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login("alice", "guess", "1.1.1.1").error().code, Errc::kUnauthorized);
  }
  auto ip_limited = login("alice", "correct horse", "1.1.1.1");
  ASSERT_FALSE(ip_limited.ok());
  EXPECT_EQ(ip_limited.error().code, Errc::kRateLimited);
  EXPECT_GT(ip_limited.error().retry_after_ms, 0);

  // Other addresses may still try, until the account's own budget (5) is spent.
  EXPECT_EQ(login("alice", "guess", "2.2.2.2").error().code, Errc::kUnauthorized);
  EXPECT_EQ(login("alice", "guess", "3.3.3.3").error().code, Errc::kUnauthorized);
  auto account_limited = login("alice", "correct horse", "4.4.4.4");
  ASSERT_FALSE(account_limited.ok());
  EXPECT_EQ(account_limited.error().code, Errc::kRateLimited);
  // Another account from a fresh address is unaffected.
  EXPECT_EQ(login("bob", "guess", "5.5.5.5").error().code, Errc::kUnauthorized);

  clock_.advance_ms(kMinute);
  EXPECT_TRUE(login("alice", "correct horse", "1.1.1.1").ok());
}

TEST_P(AuthServiceTest, ClosedRegistrationStillAllowsAdmins) {
  config_.registration = RegistrationMode::kClosed;
  auto r = register_user("alice", "correct horse");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kForbidden);
  EXPECT_EQ(r.error().message, "registration is closed");

  RegisterRequest req;
  req.username = "alice";
  req.password = "correct horse";
  auto created = wait<core::User>(
      [&](auto done) { auth().admin_create_user(kAdmin, req, core::Role::kAdmin, done); });
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->role, core::Role::kAdmin);
  auto in = login("alice", "correct horse");
  ASSERT_TRUE(in.ok());

  // Admin operations need the admin role.
  Actor user_actor{in->user.id, core::Role::kUser, in->session.id, "alice"};
  auto denied = wait<core::User>(
      [&](auto done) { auth().admin_create_user(user_actor, req, core::Role::kUser, done); });
  EXPECT_EQ(denied.error().code, Errc::kForbidden);
  auto demoted = wait<core::User>(
      [&](auto done) { auth().admin_set_role(kAdmin, created->id, core::Role::kUser, done); });
  ASSERT_TRUE(demoted.ok());
  EXPECT_EQ(authenticate(in->token)->actor.role, core::Role::kUser);  // takes effect at once
}

TEST_P(AuthServiceTest, InviteOnlyRegistrationNeedsTheCode) {
  config_.registration = RegistrationMode::kInviteOnly;
  config_.invite_code = "let-me-in";
  EXPECT_EQ(register_user("alice", "correct horse").error().code, Errc::kForbidden);
  EXPECT_EQ(register_user("alice", "correct horse", "let-me-i").error().code, Errc::kForbidden);
  EXPECT_EQ(register_user("alice", "correct horse", "let-me-inn").error().code, Errc::kForbidden);
  EXPECT_TRUE(register_user("alice", "correct horse", "let-me-in").ok());
}

TEST_P(AuthServiceTest, RegistrationIsRateLimitedPerIp) {
  config_.ip_attempts_per_minute = 2;
  EXPECT_TRUE(register_user("alice", "correct horse", "", "9.9.9.9").ok());
  EXPECT_TRUE(register_user("bob", "correct horse", "", "9.9.9.9").ok());
  auto r = register_user("carol", "correct horse", "", "9.9.9.9");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kRateLimited);
  EXPECT_TRUE(register_user("carol", "correct horse", "", "8.8.8.8").ok());
}

TEST_P(AuthServiceTest, UpdateProfileValidatesAndSaves) {
  ASSERT_TRUE(register_user("alice", "correct horse").ok());
  auto in = login("alice", "correct horse");
  ASSERT_TRUE(in.ok());
  auto bad = wait<core::User>([&](auto done) {
    auth().update_profile(actor_of(*in), std::string("   "), std::nullopt, done);
  });
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  auto bad_email = wait<core::User>([&](auto done) {
    auth().update_profile(actor_of(*in), std::nullopt, std::string("nope"), done);
  });
  EXPECT_EQ(bad_email.error().code, Errc::kInvalidArgument);
  auto ok = wait<core::User>([&](auto done) {
    auth().update_profile(actor_of(*in), std::string("Alice A."), std::string("alice@example.com"), done);
  });
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->display_name, "Alice A.");
  EXPECT_EQ(ok->email, "alice@example.com");
  EXPECT_EQ(authenticate(in->token)->user.display_name, "Alice A.");
}

std::vector<Backend> backends() {
#ifdef PARLEY_TEST_SQLITE
  return {Backend::kMemory, Backend::kSqlite};
#else
  return {Backend::kMemory};
#endif
}

INSTANTIATE_TEST_SUITE_P(Stores, AuthServiceTest, ::testing::ValuesIn(backends()),
                         [](const auto& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Sqlite";
                         });

}  // namespace
}  // namespace parley::auth
