// core/clock.h: the time source. Production uses SystemClock; unit tests inject a ManualClock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace parley::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock Unix time in milliseconds.
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance_ms(std::int64_t d) { now_ += d; }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace parley::core
