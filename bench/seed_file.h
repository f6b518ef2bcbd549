// bench/seed_file.h: reads the file written by `parley admin seed --out` (bench/README.md):
// {"users": [{"id", "username", "token"}], "rooms": [{"id", "kind", "members": [user index]}]}.
// Plain values; load once at start-up on the main thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::bench {

enum class RoomClass { kDm, kSmallGroup, kLargeGroup };

struct SeedUser {
  std::string id;
  std::string username;
  std::string token;
  std::vector<int> rooms;  // room indexes, filled from the rooms' member lists
};

struct SeedRoom {
  std::string id;
  RoomClass cls = RoomClass::kDm;
  std::vector<int> members;  // user indexes
};

struct Seed {
  std::vector<SeedUser> users;
  std::vector<SeedRoom> rooms;
};

// Groups with more than `large_threshold` members are "large". Errors are thrown as
// std::runtime_error naming the file and the problem (start-up only).
Seed load_seed(const std::string& path, std::size_t large_threshold);

}  // namespace parley::bench
