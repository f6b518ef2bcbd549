// core/id.h: 64-bit time-ordered ids. Layout (most significant first):
//   42 bits milliseconds since 2024-01-01T00:00:00Z | 8 bits node id | 14 bits counter.
// Ids sort by creation time across nodes; they are sent to clients as decimal strings because
// JavaScript numbers lose precision above 2^53. IdGenerator is thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace parley::core {

using Id = std::uint64_t;

inline constexpr std::int64_t kIdEpochMs = 1704067200000;  // 2024-01-01T00:00:00Z

class IdGenerator {
 public:
  // REQUIRES: node < 256. `clock` must outlive the generator.
  IdGenerator(const Clock& clock, unsigned node);
  Id next();

 private:
  const Clock& clock_;
  unsigned node_;
  std::mutex mu_;
  std::int64_t last_ms_ = 0;
  std::uint32_t counter_ = 0;
};

std::string id_to_string(Id id);
// Parses a decimal id; nullopt for anything that is not a positive 64-bit decimal.
std::optional<Id> parse_id(std::string_view s);
// The creation time encoded in an id (Unix ms).
std::int64_t id_time_ms(Id id);

}  // namespace parley::core
