#include "ops/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

namespace parley::ops {

using core::Errc;

namespace {

core::Error bad(std::string_view key, std::string_view why) {
  return core::make_error(Errc::kInvalidArgument, std::string(key) + ": " + std::string(why));
}

// Calls v(section, field, member) for every setting, in documentation order. `section` is ""
// for top-level settings. Works on const and non-const configs.
template <class C, class V>
void visit_settings(C& c, V&& v) {
  v("", "node_id", c.node_id);
  v("", "hasher_threads", c.hasher_threads);
  v("", "shutdown_grace_ms", c.shutdown_grace_ms);
  v("http", "bind", c.http.bind);
  v("http", "port", c.http.port);
  v("http", "threads", c.http.threads);
  v("http", "max_body_bytes", c.http.max_body_bytes);
  v("http", "request_timeout_ms", c.http.request_timeout_ms);
  v("http", "allowed_origins", c.http.allowed_origins);
  v("http", "web_root", c.http.web_root);
  v("http", "public_url", c.http.public_url);
  v("gateway", "heartbeat_ms", c.gateway.heartbeat_ms);
  v("gateway", "identify_timeout_ms", c.gateway.identify_timeout_ms);
  v("gateway", "max_frame_bytes", c.gateway.max_frame_bytes);
  v("gateway", "outbound_queue_bytes", c.gateway.outbound_queue_bytes);
  v("gateway", "frames_per_second", c.gateway.frames_per_second);
  v("gateway", "burst_frames", c.gateway.burst_frames);
  v("gateway", "replay_cap", c.gateway.replay_cap);
  v("gateway", "presence_idle_ms", c.gateway.presence_idle_ms);
  v("store", "data_dir", c.store.data_dir);
  v("store", "synchronous", c.store.synchronous);
  v("store", "read_connections", c.store.read_connections);
  v("store", "max_batch", c.store.max_batch);
  v("auth", "registration", c.auth.registration);
  v("auth", "invite_code", c.auth.invite_code);
  v("auth", "idle_timeout_ms", c.auth.idle_timeout_ms);
  v("auth", "absolute_ttl_ms", c.auth.absolute_ttl_ms);
  v("auth", "touch_interval_ms", c.auth.touch_interval_ms);
  v("auth", "ip_attempts_per_minute", c.auth.ip_attempts_per_minute);
  v("auth", "account_attempts_per_minute", c.auth.account_attempts_per_minute);
  v("files", "max_upload_bytes", c.files.max_upload_bytes);
  v("files", "quota_bytes", c.files.quota_bytes);
  v("files", "allowed_types", c.files.allowed_types);
  v("files", "max_image_pixels", c.files.max_image_pixels);
  v("files", "thumbnail_px", c.files.thumbnail_px);
  v("files", "preview_px", c.files.preview_px);
  v("files", "workers", c.files.workers);
  v("files", "max_queue", c.files.max_queue);
  v("files", "unsent_ttl_ms", c.files.unsent_ttl_ms);
  v("files", "sweep_interval_ms", c.files.sweep_interval_ms);
  v("files", "uploads_per_minute", c.files.uploads_per_minute);
  v("files", "upload_burst", c.files.upload_burst);
  v("files", "text_index_bytes", c.files.text_index_bytes);
  v("files", "text_max_file_bytes", c.files.text_max_file_bytes);
  v("files", "text_timeout_ms", c.files.text_timeout_ms);
  v("files", "text_memory_bytes", c.files.text_memory_bytes);
  v("files", "pdftotext", c.files.pdftotext);
  v("search", "per_minute", c.search.per_minute);
  v("search", "burst", c.search.burst);
  v("chat", "mention_all_min_members", c.chat.mention_all_min_members);
  v("log", "level", c.log.level);
  v("log", "format", c.log.format);
}

std::string full_key(std::string_view section, std::string_view field) {
  if (section.empty()) return std::string(field);
  return std::string(section) + "." + std::string(field);
}

std::string env_name(std::string_view key) {
  std::string out = "PARLEY_";
  for (char c : key) {
    out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string_view registration_name(auth::RegistrationMode m) {
  switch (m) {
    case auth::RegistrationMode::kOpen: return "open";
    case auth::RegistrationMode::kInviteOnly: return "invite";
    case auth::RegistrationMode::kClosed: return "closed";
  }
  return "open";
}

// --- values from text (environment, *_FILE, flags)

template <class T>
core::Status parse_text(std::string_view key, const std::string& raw, T& out) {
  const std::string s = trim(raw);
  if constexpr (std::is_same_v<T, std::string>) {
    out = raw;  // strings are taken verbatim (a *_FILE value is already trimmed)
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    out.clear();
    std::size_t start = 0;
    while (start <= raw.size()) {
      auto comma = raw.find(',', start);
      if (comma == std::string::npos) comma = raw.size();
      auto item = trim(std::string_view(raw).substr(start, comma - start));
      if (!item.empty()) out.push_back(std::move(item));
      start = comma + 1;
    }
  } else if constexpr (std::is_same_v<T, auth::RegistrationMode>) {
    if (s == "open") {
      out = auth::RegistrationMode::kOpen;
    } else if (s == "invite") {
      out = auth::RegistrationMode::kInviteOnly;
    } else if (s == "closed") {
      out = auth::RegistrationMode::kClosed;
    } else {
      return bad(key, "must be open, invite or closed");
    }
  } else if constexpr (std::is_same_v<T, double>) {
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) {
      return bad(key, "must be a number");
    }
    out = d;
  } else {
    static_assert(std::is_integral_v<T>);
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      return bad(key, "must be an integer");
    }
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0) return bad(key, "must not be negative");
    } else {
      if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
          v > static_cast<long long>(std::numeric_limits<T>::max())) {
        return bad(key, "out of range");
      }
    }
    out = static_cast<T>(v);
  }
  return core::ok_status();
}

// --- values from TOML nodes

template <class T>
core::Status parse_toml(std::string_view key, const toml::node& node, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    auto v = node.value_exact<std::string>();
    if (!v) return bad(key, "must be a string");
    out = *v;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    // An array of strings, or one comma-separated string like the environment.
    if (auto s = node.value_exact<std::string>()) return parse_text(key, *s, out);
    const auto* arr = node.as_array();
    if (!arr) return bad(key, "must be an array of strings");
    out.clear();
    for (const auto& item : *arr) {
      auto v = item.value_exact<std::string>();
      if (!v) return bad(key, "must be an array of strings");
      out.push_back(*v);
    }
  } else if constexpr (std::is_same_v<T, auth::RegistrationMode>) {
    auto v = node.value_exact<std::string>();
    if (!v) return bad(key, "must be open, invite or closed");
    return parse_text(key, *v, out);
  } else if constexpr (std::is_same_v<T, double>) {
    if (auto i = node.value_exact<std::int64_t>()) {
      out = static_cast<double>(*i);
    } else if (auto d = node.value_exact<double>(); d && std::isfinite(*d)) {
      out = *d;
    } else {
      return bad(key, "must be a number");
    }
  } else {
    static_assert(std::is_integral_v<T>);
    auto i = node.value_exact<std::int64_t>();
    if (!i) return bad(key, "must be an integer");
    return parse_text(key, std::to_string(*i), out);
  }
  return core::ok_status();
}

// --- rendering as TOML

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

template <class T>
std::string render_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return toml_string(v);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      out += toml_string(v[i]);
    }
    return out + "]";
  } else if constexpr (std::is_same_v<T, auth::RegistrationMode>) {
    return toml_string(registration_name(v));
  } else if constexpr (std::is_same_v<T, double>) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    std::string s = os.str();
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";  // keep it a TOML float
    return s;
  } else {
    return std::to_string(v);
  }
}

// --- semantic validation of the merged result

core::Status validate(const Config& c) {
  auto in = [](long long v, long long lo, long long hi) { return v >= lo && v <= hi; };
  if (!in(c.node_id, 0, 255)) return bad("node_id", "must be 0..255");
  if (!in(c.hasher_threads, 1, 64)) return bad("hasher_threads", "must be 1..64");
  if (!in(c.shutdown_grace_ms, 0, 600000)) return bad("shutdown_grace_ms", "must be 0..600000");
  if (c.http.bind.empty()) return bad("http.bind", "must not be empty");
  if (!in(c.http.port, 0, 65535)) return bad("http.port", "must be 0..65535");
  if (!in(c.http.threads, 0, 256)) return bad("http.threads", "must be 0..256 (0 = number of cores)");
  if (c.http.max_body_bytes < 1024) return bad("http.max_body_bytes", "must be at least 1024");
  if (c.http.request_timeout_ms < 1) return bad("http.request_timeout_ms", "must be positive");
  for (const auto& o : c.http.allowed_origins) {
    if (o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
      return bad("http.allowed_origins", "each origin must start with http:// or https://");
    }
  }
  if (!c.http.public_url.empty() && c.http.public_url.rfind("http://", 0) != 0 &&
      c.http.public_url.rfind("https://", 0) != 0) {
    return bad("http.public_url", "must start with http:// or https://");
  }
  if (c.gateway.heartbeat_ms < 1000) return bad("gateway.heartbeat_ms", "must be at least 1000");
  if (c.gateway.identify_timeout_ms < 1) return bad("gateway.identify_timeout_ms", "must be positive");
  if (c.gateway.max_frame_bytes < 1024) return bad("gateway.max_frame_bytes", "must be at least 1024");
  if (c.gateway.outbound_queue_bytes < 1024) {
    return bad("gateway.outbound_queue_bytes", "must be at least 1024");
  }
  if (!(c.gateway.frames_per_second > 0)) return bad("gateway.frames_per_second", "must be positive");
  if (!(c.gateway.burst_frames >= 1)) return bad("gateway.burst_frames", "must be at least 1");
  if (c.gateway.replay_cap < 1) return bad("gateway.replay_cap", "must be positive");
  if (c.gateway.presence_idle_ms < 1000) {
    return bad("gateway.presence_idle_ms", "must be at least 1000");
  }
  if (!in(c.chat.mention_all_min_members, 0, 1000000)) {
    return bad("chat.mention_all_min_members", "must be 0..1000000");
  }
  if (c.store.data_dir.empty()) return bad("store.data_dir", "must not be empty");
  if (c.store.synchronous != "full" && c.store.synchronous != "normal") {
    return bad("store.synchronous", "must be full or normal");
  }
  if (!in(c.store.read_connections, 1, 64)) return bad("store.read_connections", "must be 1..64");
  if (!in(c.store.max_batch, 1, 100000)) return bad("store.max_batch", "must be 1..100000");
  if (c.auth.registration == auth::RegistrationMode::kInviteOnly && c.auth.invite_code.empty()) {
    return bad("auth.invite_code", "required when auth.registration = invite");
  }
  if (c.auth.idle_timeout_ms < 1) return bad("auth.idle_timeout_ms", "must be positive");
  if (c.auth.absolute_ttl_ms < 1) return bad("auth.absolute_ttl_ms", "must be positive");
  if (c.auth.touch_interval_ms < 0) return bad("auth.touch_interval_ms", "must not be negative");
  if (!(c.auth.ip_attempts_per_minute >= 1)) return bad("auth.ip_attempts_per_minute", "must be at least 1");
  if (!(c.auth.account_attempts_per_minute >= 1)) {
    return bad("auth.account_attempts_per_minute", "must be at least 1");
  }
  if (!(c.search.per_minute > 0)) return bad("search.per_minute", "must be positive");
  if (!(c.search.burst >= 1)) return bad("search.burst", "must be at least 1");
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
  if (!kLevels.count(c.log.level)) {
    return bad("log.level", "must be one of trace, debug, info, warn, error");
  }
  if (c.log.format != "json" && c.log.format != "text") return bad("log.format", "must be json or text");
  if (c.files.max_upload_bytes < 1) return bad("files.max_upload_bytes", "must be positive");
  if (c.files.quota_bytes < 0) return bad("files.quota_bytes", "must be >= 0 (0 = unlimited)");
  for (const auto& t : c.files.allowed_types) {
    if (t.find('/') == std::string::npos) {
      return bad("files.allowed_types", "'" + t + "' is not a media type (type/subtype or type/*)");
    }
  }
  if (c.files.max_image_pixels < 1) return bad("files.max_image_pixels", "must be positive");
  if (!in(c.files.thumbnail_px, 16, 4096)) return bad("files.thumbnail_px", "must be 16..4096");
  if (!in(c.files.preview_px, 16, 8192)) return bad("files.preview_px", "must be 16..8192");
  if (!in(c.files.workers, 1, 64)) return bad("files.workers", "must be 1..64");
  if (!in(c.files.max_queue, 1, 100000)) return bad("files.max_queue", "must be 1..100000");
  if (c.files.unsent_ttl_ms < 0) return bad("files.unsent_ttl_ms", "must be >= 0");
  if (c.files.sweep_interval_ms < 100) return bad("files.sweep_interval_ms", "must be at least 100");
  if (!(c.files.uploads_per_minute > 0)) return bad("files.uploads_per_minute", "must be positive");
  if (!(c.files.upload_burst >= 1)) return bad("files.upload_burst", "must be at least 1");
  if (c.files.text_index_bytes < 0 || c.files.text_index_bytes > (16LL << 20)) {
    return bad("files.text_index_bytes", "must be 0..16777216 (0 = file names only)");
  }
  if (c.files.text_max_file_bytes < 0) return bad("files.text_max_file_bytes", "must be >= 0");
  if (!in(c.files.text_timeout_ms, 100, 600'000)) {
    return bad("files.text_timeout_ms", "must be 100..600000");
  }
  if (c.files.text_memory_bytes < (64LL << 20)) {
    return bad("files.text_memory_bytes", "must be at least 67108864 (64 MiB)");
  }
  if (!c.files.pdftotext.empty() && c.files.pdftotext.front() != '/') {
    return bad("files.pdftotext", "must be an absolute path (or empty: no PDF text)");
  }
  return core::ok_status();
}

core::Result<std::string> read_secret_file(const std::string& var, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(Errc::kInvalidArgument, var + ": cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return trim(ss.str());
}

core::Status apply_toml(Config& c, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path;
    if (e.source().begin) os << ":" << e.source().begin.line << ":" << e.source().begin.column;
    os << ": " << e.description();
    return core::make_error(Errc::kInvalidArgument, os.str());
  }

  std::set<std::string> known_sections;
  std::set<std::string> known_keys;
  visit_settings(c, [&](std::string_view section, std::string_view field, auto&) {
    if (!section.empty()) known_sections.emplace(section);
    known_keys.insert(full_key(section, field));
  });
  // Every key in the file must be a setting: a typo must not silently keep the default.
  for (const auto& [k, node] : root) {
    std::string key(k.str());
    if (known_sections.count(key)) {
      const auto* tbl = node.as_table();
      if (!tbl) return bad(key, "must be a table ([" + key + "])");
      for (const auto& [f, sub] : *tbl) {
        std::string fk = key + "." + std::string(f.str());
        if (!known_keys.count(fk)) {
          return core::make_error(Errc::kInvalidArgument, path + ": unknown setting \"" + fk + "\"");
        }
      }
    } else if (!known_keys.count(key)) {
      return core::make_error(Errc::kInvalidArgument, path + ": unknown setting \"" + key + "\"");
    }
  }
  core::Status status = core::ok_status();
  visit_settings(c, [&](std::string_view section, std::string_view field, auto& member) {
    if (!status) return;
    const toml::node* node = nullptr;
    if (section.empty()) {
      node = root.get(field);
    } else if (const auto* tbl = root.get_as<toml::table>(section)) {
      node = tbl->get(field);
    }
    if (node) status = parse_toml(full_key(section, field), *node, member);
  });
  return status;
}

core::Status apply_env(Config& c, const std::map<std::string, std::string>& env) {
  core::Status status = core::ok_status();
  visit_settings(c, [&](std::string_view section, std::string_view field, auto& member) {
    if (!status) return;
    const std::string key = full_key(section, field);
    const std::string name = env_name(key);
    auto direct = env.find(name);
    auto file = env.find(name + "_FILE");
    if (direct != env.end() && file != env.end()) {
      status = bad(key, "both " + name + " and " + name + "_FILE are set");
      return;
    }
    if (file != env.end()) {
      auto value = read_secret_file(name + "_FILE", file->second);
      if (!value) {
        status = value.take_error();
        return;
      }
      status = parse_text(key, *value, member);
    } else if (direct != env.end()) {
      status = parse_text(key, direct->second, member);
    } else {
      return;
    }
    if (!status) {
      core::Error e = status.take_error();
      e.message += " (from " + (file != env.end() ? name + "_FILE" : name) + ")";
      status = std::move(e);
    }
  });
  return status;
}

core::Status apply_flags(Config& c, const std::map<std::string, std::string>& flags) {
  std::set<std::string> used;
  core::Status status = core::ok_status();
  visit_settings(c, [&](std::string_view section, std::string_view field, auto& member) {
    if (!status) return;
    const std::string key = full_key(section, field);
    auto it = flags.find(key);
    if (it == flags.end()) return;
    used.insert(key);
    status = parse_text(key, it->second, member);
  });
  if (!status) return status;
  for (const auto& [k, v] : flags) {
    if (!used.count(k)) {
      return core::make_error(Errc::kInvalidArgument, "unknown setting \"--" + k + "\"");
    }
  }
  return core::ok_status();
}

}  // namespace

core::Result<Config> load_config(const std::string& toml_path,
                                 const std::map<std::string, std::string>& env,
                                 const std::map<std::string, std::string>& flags) {
  Config c;
  if (!toml_path.empty()) {
    if (auto st = apply_toml(c, toml_path); !st) return st.take_error();
  }
  if (auto st = apply_env(c, env); !st) return st.take_error();
  if (auto st = apply_flags(c, flags); !st) return st.take_error();
  if (auto st = validate(c); !st) return st.take_error();
  return c;
}

std::string render_config(const Config& c) {
  std::string top;
  std::vector<std::pair<std::string, std::string>> sections;  // name, body; in order
  visit_settings(c, [&](std::string_view section, std::string_view field, const auto& member) {
    std::string value = render_value(member);
    if (section == "auth" && field == "invite_code" && !c.auth.invite_code.empty()) {
      value = toml_string("<redacted>");
    }
    std::string line = std::string(field) + " = " + value + "\n";
    if (section.empty()) {
      top += line;
      return;
    }
    if (sections.empty() || sections.back().first != section) sections.emplace_back(section, "");
    sections.back().second += line;
  });
  std::string out = top;
  for (const auto& [name, body] : sections) out += "\n[" + name + "]\n" + body;
  return out;
}

}  // namespace parley::ops
