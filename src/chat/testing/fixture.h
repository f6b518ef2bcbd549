// chat/testing/fixture.h: for the chat service tests only (includes GoogleTest). A real SQLite
// store in a fresh temporary directory named after the running test, and users created through
// the store, so each test fixture states only what it wires on top.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "auth/auth_service.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/testing/wait.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::test {

// An empty directory for this test ("<tmp>/parley-<tag>-test-<pid>-<test name>").
inline std::filesystem::path fresh_test_dir(std::string_view tag) {
  auto dir = std::filesystem::temp_directory_path() /
             ("parley-" + std::string(tag) + "-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A SQLite store in `dir` (synchronous=normal: tests need no fsync per commit).
inline std::unique_ptr<store::SqliteStore> open_test_store(const std::filesystem::path& dir) {
  store::SqliteConfig cfg;
  cfg.path = (dir / "parley.db").string();
  cfg.synchronous = "normal";
  return std::move(store::SqliteStore::open(cfg, nullptr).value());
}

// A plain user stored under `name`, as the actor the services expect.
inline auth::Actor make_test_user(store::Store& store, core::IdGenerator& ids,
                                  const core::Clock& clock, const std::string& name) {
  store::NewUser u;
  u.id = ids.next();
  u.username = name;
  u.display_name = name;
  u.password_hash = "x";
  u.created_at = clock.now_ms();
  auto user = wait<core::User>([&](auto done) { store.create_user(u, std::move(done)); });
  return auth::Actor{user->id, core::Role::kUser, 0, name};
}

}  // namespace parley::test
