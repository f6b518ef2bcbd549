// app/seed.cc: `parley admin seed` (see app/commands.h), the documented bulk path for load
// tests (bench/README.md). It writes users, sessions and rooms straight into the store, the
// way the REST routes would have left them, but without their per-request costs: one argon2id
// hash shared by every seeded user, and hundreds of store calls in flight at once so the
// store's group commit batches them. Messages are never seeded: the load sends them through
// the gateway path it measures.
//
// Threading: runs on the CLI's main thread, which waits; store callbacks only record results
// and release a slot (Pipeline), as the Store contract asks.
#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "app/commands.h"
#include "app/wait.h"
#include "auth/auth_service.h"
#include "auth/password_hasher.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/validate.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::app {

store::SqliteConfig sqlite_config(const ops::Config& config);

namespace {

namespace json = boost::json;

struct GroupSpec {
  int count = 0;
  int size = 0;
};

struct SeedSpec {
  int users = 0;
  std::string prefix = "b";
  int dm_pairs_per_user = 1;
  std::vector<GroupSpec> groups;
  std::uint64_t seed = 42;
  std::string password = "bench-password";  // shared by every seeded user (REST login works)
  int in_flight = 512;                      // store calls outstanding at once
};

core::Result<SeedSpec> parse_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::make_error(core::Errc::kInvalidArgument, "--spec: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec || !v.is_object()) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: not a JSON object");
  }
  const auto& o = v.get_object();
  SeedSpec s;
  auto get_int = [&](std::string_view key, auto& out) -> bool {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->value().is_number()) return false;
    out = it->value().to_number<std::remove_reference_t<decltype(out)>>(ec);
    return !ec;
  };
  auto get_str = [&](std::string_view key, std::string& out) -> bool {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->value().is_string()) return false;
    out = it->value().get_string();
    return true;
  };
  if (!get_int("users", s.users) || !get_int("dm_pairs_per_user", s.dm_pairs_per_user) ||
      !get_int("seed", s.seed) || !get_int("in_flight", s.in_flight) ||
      !get_str("prefix", s.prefix) || !get_str("password", s.password)) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: a field has the wrong type");
  }
  if (s.users < 2 || s.users > 1'000'000) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: users must be 2..1000000");
  }
  if (s.dm_pairs_per_user < 0 || s.dm_pairs_per_user > 100) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: dm_pairs_per_user must be 0..100");
  }
  s.in_flight = std::clamp(s.in_flight, 1, 4096);
  if (auto it = o.find("groups"); it != o.end()) {
    if (!it->value().is_array()) {
      return core::make_error(core::Errc::kInvalidArgument, "--spec: groups must be an array");
    }
    for (const auto& g : it->value().get_array()) {
      if (!g.is_object() || !g.get_object().contains("count") || !g.get_object().contains("size")) {
        return core::make_error(core::Errc::kInvalidArgument, "--spec: groups[] needs count and size");
      }
      GroupSpec gs;
      gs.count = g.get_object().at("count").to_number<int>(ec);
      if (!ec) gs.size = g.get_object().at("size").to_number<int>(ec);
      if (ec || gs.count < 0 || gs.size < 2 || gs.size > s.users) {
        return core::make_error(core::Errc::kInvalidArgument,
                                "--spec: groups[]: count >= 0 and 2 <= size <= users");
      }
      s.groups.push_back(gs);
    }
  }
  if (auto name = core::normalize_username(s.prefix + std::to_string(s.users - 1)); !name) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: prefix: " + name.error().message);
  }
  if (auto pw = core::validate_password(s.password); !pw) {
    return core::make_error(core::Errc::kInvalidArgument, "--spec: password: " + pw.error().message);
  }
  return s;
}

// Bounds the store calls in flight and keeps the first error. acquire() blocks the calling
// (CLI) thread; release() is called from store callbacks and only signals.
class Pipeline {
 public:
  explicit Pipeline(int max_in_flight) : max_(max_in_flight) {}

  // false once a call has failed: stop submitting.
  bool acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < max_ || error_; });
    if (error_) return false;
    ++in_flight_;
    return true;
  }
  void release(const core::Error* error) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (error && !error_) error_ = *error;
    cv_.notify_all();
  }
  // Waits for every call; the first error, if any.
  std::optional<core::Error> drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return error_;
  }

 private:
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::optional<core::Error> error_;
};

struct SeedRoom {
  core::Id id = 0;
  bool dm = false;
  std::vector<int> members;  // user indexes; the first creates the room
};

// Group rooms of one spec: rounds of a fresh shuffle of all users, `size` consecutive users per
// room, so every user is in about count*size/users of them and never twice in one.
void plan_groups(const GroupSpec& g, int users, std::mt19937_64& rng, std::vector<SeedRoom>& out) {
  std::vector<int> perm(users);
  std::size_t pos = perm.size();
  for (int r = 0; r < g.count; ++r) {
    SeedRoom room;
    std::set<int> in_room;
    while (static_cast<int>(room.members.size()) < g.size) {
      if (pos == perm.size()) {
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        pos = 0;
      }
      int u = perm[pos++];
      if (in_room.insert(u).second) room.members.push_back(u);
    }
    out.push_back(std::move(room));
  }
}

// DM pairs: per round, a fresh shuffle paired off two by two (each user gets one more peer).
void plan_dms(int pairs_per_user, int users, std::mt19937_64& rng, std::vector<SeedRoom>& out) {
  std::set<std::pair<int, int>> seen;
  std::vector<int> perm(users);
  for (int round = 0; round < pairs_per_user; ++round) {
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int i = 0; i + 1 < users; i += 2) {
      auto p = std::minmax(perm[i], perm[i + 1]);
      if (!seen.insert(p).second) continue;
      SeedRoom room;
      room.dm = true;
      room.members = {p.first, p.second};
      out.push_back(std::move(room));
    }
  }
}

int fail(const std::string& what) {
  std::cerr << "parley: admin seed: " << what << "\n";
  return 1;
}

}  // namespace

int admin_seed(const ops::Config& config, const SeedArgs& args) {
  auto spec = parse_spec(args.spec_file);
  if (!spec) return fail(spec.error().message);
  const SeedSpec& s = *spec;

  core::SystemClock clock;
  core::IdGenerator ids(clock, static_cast<unsigned>(config.node_id));
  std::error_code fec;
  std::filesystem::create_directories(config.store.data_dir, fec);
  auto opened = store::SqliteStore::open(sqlite_config(config), nullptr);
  if (!opened) return fail("store: " + opened.error().message);
  std::unique_ptr<store::SqliteStore> db = std::move(opened.value());

  // One argon2id hash for everyone: seeding 10,000 users must not cost 10,000 hashes.
  auth::PasswordHasher hasher(auth::PasswordHasherConfig{.threads = 1});
  auto hash = wait_for<std::string>([&](auto done) { hasher.hash(s.password, std::move(done)); });
  if (!hash) return fail("password hash: " + hash.error().message);

  const std::int64_t now = clock.now_ms();
  struct Seeded {
    core::Id id = 0;
    std::string username;
    std::string token;
  };
  std::vector<Seeded> users(s.users);

  Pipeline users_pipe(s.in_flight);
  for (int i = 0; i < s.users && users_pipe.acquire(); ++i) {
    store::NewUser u;
    u.id = ids.next();
    u.username = *core::normalize_username(s.prefix + std::to_string(i));
    u.display_name = u.username;
    u.password_hash = *hash;
    u.created_at = now;
    users[i].id = u.id;
    users[i].username = u.username;
    db->create_user(std::move(u), [&users_pipe](core::Result<core::User> r) {
      users_pipe.release(r ? nullptr : &r.error());
    });
  }
  if (auto e = users_pipe.drain()) return fail("create users: " + e->message);
  std::cerr << "parley: admin seed: " << s.users << " users\n";

  // One session per user, exactly what a login would have stored.
  Pipeline sessions_pipe(s.in_flight);
  for (int i = 0; i < s.users && sessions_pipe.acquire(); ++i) {
    users[i].token = auth::generate_token();
    core::Session session;
    session.id = ids.next();
    session.token_hash = auth::hash_token(users[i].token);
    session.user_id = users[i].id;
    session.device = "parley-bench";
    session.created_at = now;
    session.last_used = now;
    session.expires_at = now + config.auth.absolute_ttl_ms;
    db->create_session(std::move(session), [&sessions_pipe](core::Result<core::Session> r) {
      sessions_pipe.release(r ? nullptr : &r.error());
    });
  }
  if (auto e = sessions_pipe.drain()) return fail("create sessions: " + e->message);

  std::mt19937_64 rng(s.seed);
  std::vector<SeedRoom> rooms;
  plan_dms(s.dm_pairs_per_user, s.users, rng, rooms);
  for (const auto& g : s.groups) plan_groups(g, s.users, rng, rooms);

  Pipeline rooms_pipe(s.in_flight);
  for (std::size_t r = 0; r < rooms.size() && rooms_pipe.acquire(); ++r) {
    SeedRoom& room = rooms[r];
    room.id = ids.next();
    if (room.dm) {
      // The DM may exist (from an earlier seed of the same users): keep the store's id.
      db->get_or_create_dm(users[room.members[0]].id, users[room.members[1]].id, room.id, now,
                           [&rooms_pipe, &room](core::Result<store::DmResult> res) {
                             if (res) room.id = res->room.id;
                             rooms_pipe.release(res ? nullptr : &res.error());
                           });
    } else {
      store::NewGroupRoom g;
      g.id = room.id;
      g.name = s.prefix + "-room-" + std::to_string(r);
      g.created_by = users[room.members[0]].id;
      for (std::size_t m = 1; m < room.members.size(); ++m) g.member_ids.push_back(users[room.members[m]].id);
      g.created_at = now;
      db->create_group_room(std::move(g), [&rooms_pipe](core::Result<core::Room> res) {
        rooms_pipe.release(res ? nullptr : &res.error());
      });
    }
  }
  if (auto e = rooms_pipe.drain()) return fail("create rooms: " + e->message);

  json::array users_json;
  users_json.reserve(users.size());
  for (const auto& u : users) {
    users_json.push_back(json::object{
        {"id", core::id_to_string(u.id)}, {"username", u.username}, {"token", u.token}});
  }
  json::array rooms_json;
  rooms_json.reserve(rooms.size());
  for (const auto& r : rooms) {
    json::array members(r.members.begin(), r.members.end());
    rooms_json.push_back(json::object{{"id", core::id_to_string(r.id)},
                                      {"kind", r.dm ? "dm" : "group"},
                                      {"members", std::move(members)}});
  }
  json::object out{{"password", s.password}, {"users", std::move(users_json)},
                   {"rooms", std::move(rooms_json)}};
  // The file holds bearer tokens: readable by its owner only.
  {
    std::ofstream f(args.out_file, std::ios::trunc);
    if (!f) return fail("--out: cannot write " + args.out_file);
    f << json::serialize(out) << "\n";
    if (!f) return fail("--out: write failed for " + args.out_file);
  }
  std::filesystem::permissions(args.out_file, std::filesystem::perms::owner_read |
                                                  std::filesystem::perms::owner_write, fec);
  std::cerr << "parley: admin seed: " << s.users << " users with sessions, " << rooms.size()
            << " rooms; tokens in " << args.out_file << "\n";
  return 0;
}

}  // namespace parley::app
