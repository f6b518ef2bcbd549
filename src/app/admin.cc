// app/admin.cc: `parley admin ...`: user administration directly on the data directory.
// Works while the server runs (SQLite WAL allows a second writer process; it waits its turn).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "app/commands.h"
#include "app/wait.h"
#include "auth/auth_service.h"
#include "auth/password_hasher.h"
#include "chat/publisher.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/validate.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::app {

store::SqliteConfig sqlite_config(const ops::Config& config);

namespace {

// The CLI acts as a built-in administrator.
const auth::Actor kCliAdmin{0, core::Role::kAdmin, 0, "cli"};

struct Tools {
  core::SystemClock clock;
  core::IdGenerator ids;
  std::unique_ptr<store::SqliteStore> store;
  chat::NullPublisher publisher;  // no clients here; a running server notices on next request
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<auth::AuthService> auth;

  explicit Tools(const ops::Config& c) : ids(clock, static_cast<unsigned>(c.node_id)) {}
};

std::unique_ptr<Tools> open_tools(const ops::Config& config) {
  auto t = std::make_unique<Tools>(config);
  std::error_code ec;
  std::filesystem::create_directories(config.store.data_dir, ec);
  auto opened = store::SqliteStore::open(sqlite_config(config), nullptr);
  if (!opened) {
    std::cerr << "parley: store: " << opened.error().message << "\n";
    return nullptr;
  }
  t->store = std::move(opened.value());
  t->hasher = std::make_unique<auth::PasswordHasher>(auth::PasswordHasherConfig{});
  t->auth = std::make_unique<auth::AuthService>(
      auth::AuthService::Deps{*t->store, *t->hasher, t->clock, t->ids, t->publisher},
      config.auth);
  return t;
}

int fail(const core::Error& e) {
  std::cerr << "parley: " << core::code_name(e.code) << ": " << e.message << "\n";
  return 1;
}

core::Result<core::User> find_user(Tools& t, const std::string& username) {
  auto name = core::normalize_username(username);
  if (!name) return name.take_error();
  return wait_for<core::User>(
      [&](auto done) { t.store->user_by_username(*name, std::move(done)); });
}

}  // namespace

int admin_create_user(const ops::Config& config, const CreateUserArgs& args) {
  auto t = open_tools(config);
  if (!t) return 1;
  std::string password;
  bool generated = false;
  if (args.password_file.empty()) {
    password = auth::generate_token().substr(0, 20);
    generated = true;
  } else if (args.password_file == "-") {
    std::getline(std::cin, password);
  } else {
    std::ifstream in(args.password_file);
    if (!in) {
      std::cerr << "parley: --password-file: cannot read " << args.password_file << "\n";
      return 1;
    }
    std::getline(in, password);
  }
  auth::RegisterRequest req;
  req.username = args.username;
  req.password = password;
  req.email = args.email;
  req.display_name = args.display_name;
  auto user = wait_for<core::User>([&](auto done) {
    t->auth->admin_create_user(kCliAdmin, std::move(req),
                               args.admin ? core::Role::kAdmin : core::Role::kUser,
                               std::move(done));
  });
  if (!user) return fail(user.error());
  std::cout << "created " << core::to_string(user->role) << " " << user->username << " (id "
            << user->id << ")\n";
  if (generated) std::cout << "password: " << password << "\n";
  return 0;
}

int admin_set_role(const ops::Config& config, const std::string& username,
                   const std::string& role) {
  auto t = open_tools(config);
  if (!t) return 1;
  auto user = find_user(*t, username);
  if (!user) return fail(user.error());
  auto updated = wait_for<core::User>([&](auto done) {
    t->auth->admin_set_role(kCliAdmin, user->id, *core::parse_role(role), std::move(done));
  });
  if (!updated) return fail(updated.error());
  std::cout << updated->username << " is now " << core::to_string(updated->role) << "\n";
  return 0;
}

int admin_deactivate(const ops::Config& config, const std::string& username) {
  auto t = open_tools(config);
  if (!t) return 1;
  auto user = find_user(*t, username);
  if (!user) return fail(user.error());
  auto updated = wait_for<core::User>(
      [&](auto done) { t->auth->admin_deactivate(kCliAdmin, user->id, std::move(done)); });
  if (!updated) return fail(updated.error());
  std::cout << updated->username << " deactivated; their sessions are revoked\n";
  return 0;
}

int admin_list_users(const ops::Config& config) {
  auto t = open_tools(config);
  if (!t) return 1;
  store::UserQuery q;
  q.limit = 200;
  std::cout << "id\tusername\trole\tstatus\tdisplay_name\n";
  for (;;) {
    auto page = wait_for<std::vector<core::User>>(
        [&](auto done) { t->auth->list_users(q, std::move(done)); });
    if (!page) return fail(page.error());
    for (const auto& u : *page) {
      std::cout << u.id << "\t" << u.username << "\t" << core::to_string(u.role) << "\t"
                << core::to_string(u.status) << "\t" << u.display_name << "\n";
    }
    if (static_cast<int>(page->size()) < q.limit) break;
    q.after_id = page->back().id;
  }
  return 0;
}

}  // namespace parley::app
