#include "core/id.h"

#include <charconv>

namespace parley::core {

namespace {
constexpr int kCounterBits = 14;
constexpr int kNodeBits = 8;
constexpr std::uint32_t kCounterMax = (1u << kCounterBits) - 1;
}  // namespace

IdGenerator::IdGenerator(const Clock& clock, unsigned node) : clock_(clock), node_(node & 0xff) {}

Id IdGenerator::next() {
  std::lock_guard lock(mu_);
  std::int64_t ms = clock_.now_ms() - kIdEpochMs;
  if (ms < last_ms_) ms = last_ms_;  // the clock stepped back: keep ids monotonic
  if (ms == last_ms_) {
    if (++counter_ > kCounterMax) {  // 16384 ids in one ms: borrow the next millisecond
      ++ms;
      counter_ = 0;
    }
  } else {
    counter_ = 0;
  }
  last_ms_ = ms;
  return (static_cast<Id>(ms) << (kNodeBits + kCounterBits)) |
         (static_cast<Id>(node_) << kCounterBits) | counter_;
}

std::string id_to_string(Id id) { return std::to_string(id); }

std::optional<Id> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  Id v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

std::int64_t id_time_ms(Id id) {
  return static_cast<std::int64_t>(id >> (kNodeBits + kCounterBits)) + kIdEpochMs;
}

}  // namespace parley::core
