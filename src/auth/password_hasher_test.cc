#include "auth/password_hasher.h"

#include <gtest/gtest.h>

#include "core/testing/wait.h"

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "auth/auth_service.h"

namespace parley::auth {
namespace {

using core::Errc;

PasswordHasherConfig fast(int threads = 2, std::size_t max_queue = 256) {
  // libsodium's minimums keep the tests fast; production uses the OWASP parameters.
  return PasswordHasherConfig{.threads = threads, .opslimit = 1, .memlimit_bytes = 8192,
                              .max_queue = max_queue};
}

using test::wait;

TEST(PasswordHasher, HashesWithArgon2idAndVerifies) {
  PasswordHasher hasher(fast());
  auto hash = wait<std::string>([&](auto done) { hasher.hash("correct horse", done); });
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);

  auto good = wait<bool>([&](auto done) { hasher.verify(*hash, "correct horse", done); });
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(*good);
  auto bad = wait<bool>([&](auto done) { hasher.verify(*hash, "correct horsf", done); });
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(*bad);
  auto garbage = wait<bool>([&](auto done) { hasher.verify("not a hash", "x", done); });
  ASSERT_TRUE(garbage.ok());
  EXPECT_FALSE(*garbage);
}

TEST(PasswordHasher, SamePasswordGetsDifferentSalts) {
  PasswordHasher hasher(fast());
  auto a = wait<std::string>([&](auto done) { hasher.hash("password1", done); });
  auto b = wait<std::string>([&](auto done) { hasher.hash("password1", done); });
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PasswordHasher, NeverRunsOnTheCallerThread) {
  PasswordHasher hasher(fast());
  auto caller = std::this_thread::get_id();
  std::promise<std::thread::id> where;
  hasher.hash("password1", [&](core::Result<std::string>) { where.set_value(std::this_thread::get_id()); });
  EXPECT_NE(where.get_future().get(), caller);
}

TEST(PasswordHasher, FailsFastWhenTheQueueIsFull) {
  // One worker and a queue of 2: flood it with expensive hashes; beyond the queue the
  // answer is an immediate "busy", and every callback still runs exactly once.
  PasswordHasher hasher(PasswordHasherConfig{.threads = 1, .opslimit = 3,
                                             .memlimit_bytes = 32u * 1024 * 1024, .max_queue = 2});
  std::mutex mu;
  int ok = 0, busy = 0;
  std::vector<std::future<void>> done;
  std::vector<std::shared_ptr<std::promise<void>>> promises;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    promises.push_back(p);
    hasher.hash("password1", [&, p](core::Result<std::string> r) {
      {
        std::lock_guard lock(mu);
        if (r.ok()) {
          ++ok;
        } else {
          EXPECT_EQ(r.error().code, Errc::kUnavailable);
          ++busy;
        }
      }
      p->set_value();
    });
    EXPECT_LE(hasher.queued(), 2u);
  }
  for (auto& f : done) f.get();
  EXPECT_GE(busy, 1);
  EXPECT_GE(ok, 1);
  EXPECT_EQ(ok + busy, 20);
}

TEST(PasswordHasher, PendingJobsAnswerWhenDestroyed) {
  std::atomic<int> answered{0};
  {
    PasswordHasher hasher(PasswordHasherConfig{.threads = 1, .opslimit = 3,
                                               .memlimit_bytes = 32u * 1024 * 1024, .max_queue = 8});
    for (int i = 0; i < 8; ++i) {
      hasher.hash("password1", [&](core::Result<std::string>) { ++answered; });
    }
  }
  EXPECT_EQ(answered.load(), 8);
}

TEST(Tokens, AreRandom256BitBase64UrlWithoutPadding) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = generate_token();
    EXPECT_EQ(t.size(), 43u);  // 32 bytes -> 43 base64 characters, no '='
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Tokens, HashIsHexSha256) {
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace parley::auth
