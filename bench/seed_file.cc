// bench/seed_file.cc: see seed_file.h.
#include "seed_file.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace parley::bench {

namespace json = boost::json;

Seed load_seed(const std::string& path, std::size_t large_threshold) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("seed file: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec || !v.is_object()) throw std::runtime_error("seed file: " + path + " is not a JSON object");
  try {
    Seed seed;
    for (const auto& u : v.at("users").as_array()) {
      const auto& o = u.as_object();
      seed.users.push_back(SeedUser{json::value_to<std::string>(o.at("id")),
                                    json::value_to<std::string>(o.at("username")),
                                    json::value_to<std::string>(o.at("token")),
                                    {}});
    }
    for (const auto& r : v.at("rooms").as_array()) {
      const auto& o = r.as_object();
      SeedRoom room;
      room.id = json::value_to<std::string>(o.at("id"));
      for (const auto& m : o.at("members").as_array()) {
        auto idx = m.to_number<std::int64_t>();
        if (idx < 0 || idx >= static_cast<std::int64_t>(seed.users.size())) {
          throw std::runtime_error("member index out of range in room " + room.id);
        }
        room.members.push_back(static_cast<int>(idx));
      }
      if (o.at("kind").as_string() == "dm") {
        room.cls = RoomClass::kDm;
      } else {
        room.cls = room.members.size() > large_threshold ? RoomClass::kLargeGroup
                                                         : RoomClass::kSmallGroup;
      }
      int index = static_cast<int>(seed.rooms.size());
      for (int m : room.members) seed.users[m].rooms.push_back(index);
      seed.rooms.push_back(std::move(room));
    }
    return seed;
  } catch (const std::runtime_error&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error("seed file: " + path + ": unexpected shape: " + e.what());
  }
}

}  // namespace parley::bench
