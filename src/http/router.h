// http/router.h: maps (method, path) to a registered route by pattern. Patterns are literal
// segments and `{name}` placeholders matching exactly one non-empty segment:
// "/api/v1/rooms/{id}/messages/{message_id}". Literal segments win over placeholders when both
// could match ("/users/me" before "/users/{id}"), independent of registration order.
//
// Threading: add() during start-up only; match() is const and safe from any thread afterwards.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::http {

using Params = std::vector<std::pair<std::string, std::string>>;

class Router {
 public:
  struct Match {
    std::size_t id = 0;        // the value given to add()
    std::string_view pattern;  // the route's pattern (for metrics labels: never raw paths)
    Params params;             // placeholder name -> segment (raw, not percent-decoded)
  };
  struct Lookup {
    std::optional<Match> match;
    bool path_known = false;   // some route has this path, but not with this method
  };

  // REQUIRES: pattern starts with '/', placeholders are whole segments.
  void add(std::string method, std::string pattern, std::size_t id);
  // `path` without the query string.
  Lookup match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" for placeholders
    std::size_t literal_count = 0;
    std::size_t id = 0;
  };
  std::vector<Route> routes_;
};

// Looks up a parameter by name; "" when absent.
std::string_view param(const Params& params, std::string_view name);

}  // namespace parley::http
