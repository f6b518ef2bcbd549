// auth/rate_limiter.h: token buckets keyed by a string (a client IP, a username), for login and
// registration attempts. Each key may spend `burst` attempts at once and regains
// `per_minute` attempts per minute.
//
// Memory is bounded: at most `max_keys` buckets are kept. Buckets are kept in least-recently
// used order; adding a key when full evicts the least recently used one (which is also the one
// most likely to have refilled completely, i.e. to carry no state worth keeping).
//
// Ownership: the limiter holds a reference to the clock, which must outlive it.
// Threading: thread-safe (one mutex, O(1) work per call); callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"

namespace parley::auth {

struct RateLimiterConfig {
  double per_minute = 10;         // refill rate (attempts per minute); must be > 0
  double burst = 10;              // bucket capacity; must be >= 1
  std::size_t max_keys = 100000;  // most buckets kept at once (LRU eviction beyond)
};

class RateLimiter {
 public:
  RateLimiter(const core::Clock& clock, RateLimiterConfig config);

  // Takes one token from `key`'s bucket: ok, or kRateLimited with retry_after_ms = how long
  // until a token is available again (at least 1).
  core::Status try_acquire(std::string_view key);

  // Buckets currently held (for metrics and tests).
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front = least recently used)
  };

  const core::Clock& clock_;
  RateLimiterConfig config_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace parley::auth
