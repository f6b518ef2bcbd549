#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace parley::auth {

RateLimiter::RateLimiter(const core::Clock& clock, RateLimiterConfig config)
    : clock_(clock), config_(config) {
  if (!(config_.per_minute > 0)) config_.per_minute = 1;
  if (!(config_.burst >= 1)) config_.burst = 1;
  if (config_.max_keys < 1) config_.max_keys = 1;
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

core::Status RateLimiter::try_acquire(std::string_view key) {
  const std::int64_t now = clock_.now_ms();
  const double per_ms = config_.per_minute / 60000.0;

  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.max_keys) {
      buckets_.erase(lru_.front());
      lru_.pop_front();
    }
    lru_.emplace_back(key);
    Bucket b;
    b.tokens = config_.burst;
    b.updated_ms = now;
    b.lru = std::prev(lru_.end());
    it = buckets_.emplace(lru_.back(), b).first;
  } else {
    lru_.splice(lru_.end(), lru_, it->second.lru);  // now most recently used
  }

  Bucket& b = it->second;
  // A clock that steps backwards refills nothing (and never drains).
  const std::int64_t elapsed = std::max<std::int64_t>(0, now - b.updated_ms);
  b.tokens = std::min(config_.burst, b.tokens + static_cast<double>(elapsed) * per_ms);
  b.updated_ms = std::max(b.updated_ms, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return core::ok_status();
  }
  core::Error e = core::make_error(core::Errc::kRateLimited, "too many attempts, try again later");
  e.retry_after_ms = std::max<long long>(1, static_cast<long long>(std::ceil((1.0 - b.tokens) / per_ms)));
  return e;
}

}  // namespace parley::auth
