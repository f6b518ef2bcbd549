// auth/password_hasher.h: argon2id password hashing and verification (libsodium) on a small,
// bounded worker pool, so that the ~50 ms of CPU and ~19 MiB of memory each hash costs never
// lands on a network or store thread.
//
// Ownership: the PasswordHasher owns its worker threads; the destructor stops them. Jobs still
// queued at destruction complete with kUnavailable "shutting down" (on a worker thread).
//
// Threading: hash() and verify() are thread-safe and return at once. `done` is called exactly
// once: normally on a worker thread. When the queue already holds `max_queue` jobs the call
// fails fast and `done` is called INLINE, on the caller's thread, with kUnavailable "busy"
// (so a flood of logins cannot grow memory without bound); callers that promise a different
// thread (AuthService) must bounce that case themselves.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace parley::auth {

struct PasswordHasherConfig {
  int threads = 2;                                     // worker threads (>= 1)
  unsigned long long opslimit = 2;                     // argon2id passes (OWASP minimum: 2)
  std::size_t memlimit_bytes = 19u * 1024 * 1024;      // argon2id memory (OWASP minimum: 19 MiB)
  std::size_t max_queue = 256;                         // pending jobs beyond this: kUnavailable
};

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordHasherConfig config);
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // The argon2id encoded string ($argon2id$v=19$m=...,t=...,p=1$salt$hash) for `password`.
  // kInternal if libsodium fails (out of memory).
  void hash(std::string password, std::function<void(core::Result<std::string>)> done);
  // true when `password` matches the encoded `hash`; false on mismatch or a malformed hash.
  void verify(std::string hash, std::string password,
              std::function<void(core::Result<bool>)> done);

  // Jobs waiting for a worker (for metrics and tests).
  std::size_t queued() const;

 private:
  // A job runs the work (`cancelled` = false) or fails fast because the pool is stopping.
  using Job = std::function<void(bool cancelled)>;
  bool enqueue(Job job);
  void run();

  PasswordHasherConfig config_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace parley::auth
