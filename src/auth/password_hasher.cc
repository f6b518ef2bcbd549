#include "auth/password_hasher.h"

#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <utility>

namespace parley::auth {

using core::Errc;
using core::make_error;

namespace {

// Wipes a string's bytes (passwords) before its memory is released.
void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

core::Error busy() { return make_error(Errc::kUnavailable, "busy: too many password operations, try again"); }
core::Error shutting_down() { return make_error(Errc::kUnavailable, "shutting down"); }

}  // namespace

PasswordHasher::PasswordHasher(PasswordHasherConfig config) : config_(config) {
  // sodium_init() is idempotent and thread-safe; < 0 means no usable randomness: crash loudly.
  if (sodium_init() < 0) std::abort();
  if (config_.threads < 1) config_.threads = 1;
  if (config_.max_queue < 1) config_.max_queue = 1;
  if (config_.opslimit < crypto_pwhash_OPSLIMIT_MIN) config_.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  if (config_.memlimit_bytes < crypto_pwhash_MEMLIMIT_MIN) {
    config_.memlimit_bytes = crypto_pwhash_MEMLIMIT_MIN;
  }
  workers_.reserve(static_cast<std::size_t>(config_.threads));
  for (int i = 0; i < config_.threads; ++i) workers_.emplace_back([this] { run(); });
}

PasswordHasher::~PasswordHasher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::size_t PasswordHasher::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool PasswordHasher::enqueue(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= config_.max_queue) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void PasswordHasher::run() {
  for (;;) {
    Job job;
    bool cancelled = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      cancelled = stopping_;
    }
    job(cancelled);
  }
}

void PasswordHasher::hash(std::string password,
                          std::function<void(core::Result<std::string>)> done) {
  // The job owns the password and the callback; shared so a refused job can still answer.
  struct State {
    std::string password;
    std::function<void(core::Result<std::string>)> done;
    ~State() { wipe(password); }
  };
  auto st = std::make_shared<State>();
  st->password = std::move(password);
  st->done = std::move(done);
  const auto ops = config_.opslimit;
  const auto mem = config_.memlimit_bytes;
  bool queued = enqueue([st, ops, mem](bool cancelled) {
    if (cancelled) return st->done(shutting_down());
    char out[crypto_pwhash_STRBYTES];
    int rc = crypto_pwhash_str_alg(out, st->password.data(), st->password.size(), ops, mem,
                                   crypto_pwhash_ALG_ARGON2ID13);
    wipe(st->password);
    if (rc != 0) return st->done(make_error(Errc::kInternal, "password hashing failed"));
    st->done(std::string(out));
  });
  if (!queued) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    wipe(st->password);
    st->done(stopping ? shutting_down() : busy());
  }
}

void PasswordHasher::verify(std::string hash, std::string password,
                            std::function<void(core::Result<bool>)> done) {
  struct State {
    std::string hash;
    std::string password;
    std::function<void(core::Result<bool>)> done;
    ~State() { wipe(password); }
  };
  auto st = std::make_shared<State>();
  st->hash = std::move(hash);
  st->password = std::move(password);
  st->done = std::move(done);
  bool queued = enqueue([st](bool cancelled) {
    if (cancelled) return st->done(shutting_down());
    // crypto_pwhash_str_verify reads a NUL-terminated string; std::string::c_str() is one.
    // A malformed or foreign hash simply does not verify.
    int rc = crypto_pwhash_str_verify(st->hash.c_str(), st->password.data(),
                                      st->password.size());
    wipe(st->password);
    st->done(rc == 0);
  });
  if (!queued) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    wipe(st->password);
    st->done(stopping ? shutting_down() : busy());
  }
}

}  // namespace parley::auth
