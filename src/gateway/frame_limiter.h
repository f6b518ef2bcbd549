// gateway/frame_limiter.h: the per-connection inbound frame budget (docs/protocol.md, "Errors
// and limits"). Two token buckets: the budget itself (frames_per_second, bursts of burst_frames)
// and a hard one at twice the budget (2x rate, 2x burst). Over the budget a frame is refused
// (kLimited: the client gets `error` rate_limited with retry_after_ms); a client that keeps
// sending at more than twice the budget drains the hard bucket too and is closed (kAbuse: 4008).
//
// Pure value type; time is passed in (steady milliseconds). Used by one session on its strand.
#pragma once

#include <cstdint>

namespace parley::gateway {

class FrameLimiter {
 public:
  FrameLimiter(double frames_per_second, double burst_frames);

  enum class Verdict { kAllow, kLimited, kAbuse };
  struct Decision {
    Verdict verdict = Verdict::kAllow;
    std::int64_t retry_after_ms = 0;  // kLimited: when the next frame will be allowed
  };
  // One inbound frame at `now_ms` (monotonic).
  Decision on_frame(std::int64_t now_ms);

 private:
  struct Bucket {
    double tokens;
    double rate;   // tokens per ms
    double burst;
    void refill(std::int64_t elapsed_ms);
  };
  Bucket soft_;
  Bucket hard_;
  std::int64_t last_ms_ = -1;
};

}  // namespace parley::gateway
