#include "gateway/frame_limiter.h"

#include <algorithm>
#include <cmath>

namespace parley::gateway {

FrameLimiter::FrameLimiter(double frames_per_second, double burst_frames)
    : soft_{burst_frames, frames_per_second / 1000.0, burst_frames},
      hard_{2 * burst_frames, 2 * frames_per_second / 1000.0, 2 * burst_frames} {}

void FrameLimiter::Bucket::refill(std::int64_t elapsed_ms) {
  tokens = std::min(burst, tokens + rate * static_cast<double>(elapsed_ms));
}

FrameLimiter::Decision FrameLimiter::on_frame(std::int64_t now_ms) {
  if (last_ms_ >= 0 && now_ms > last_ms_) {
    soft_.refill(now_ms - last_ms_);
    hard_.refill(now_ms - last_ms_);
  }
  if (last_ms_ < 0 || now_ms > last_ms_) last_ms_ = now_ms;

  // Every frame spends from the hard bucket, refused or not: that is what "keeps sending" means.
  if (hard_.tokens < 1) return {Verdict::kAbuse, 0};
  hard_.tokens -= 1;
  if (soft_.tokens < 1) {
    const double wait = soft_.rate > 0 ? (1 - soft_.tokens) / soft_.rate : 1000.0;
    return {Verdict::kLimited, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)))};
  }
  soft_.tokens -= 1;
  return {Verdict::kAllow, 0};
}

}  // namespace parley::gateway
