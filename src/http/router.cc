#include "http/router.h"

namespace parley::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_placeholder(std::string_view s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, std::size_t id) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  for (auto seg : split_path(r.pattern)) {
    if (!is_placeholder(seg)) ++r.literal_count;
    r.segments.emplace_back(seg);
  }
  r.id = id;
  routes_.push_back(std::move(r));
}

Router::Lookup Router::match(std::string_view method, std::string_view path) const {
  Lookup out;
  auto segs = split_path(path);
  if (segs.empty()) return out;
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_placeholder(r.segments[i])) {
        ok = !segs[i].empty();
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      out.path_known = true;
      continue;
    }
    if (!best || r.literal_count > best->literal_count) best = &r;
  }
  if (!best) return out;
  Match m;
  m.id = best->id;
  m.pattern = best->pattern;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string& s = best->segments[i];
    if (is_placeholder(s)) m.params.emplace_back(s.substr(1, s.size() - 2), std::string(segs[i]));
  }
  out.match = std::move(m);
  return out;
}

std::string_view param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace parley::http
