#include "ops/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <ostream>

#include "ops/config.h"

namespace parley::ops {

namespace {

// A structured record travels through spdlog as one payload string:
//   kRecord <escaped msg> (kField <escaped key> kRecord <escaped value>)*
// Escaped text never contains raw control characters, so the separators are unambiguous.
constexpr char kRecord = '\x1e';
constexpr char kField = '\x1f';

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

spdlog::level::level_enum parse_level(std::string_view s) {
  if (s == "trace") return spdlog::level::trace;
  if (s == "debug") return spdlog::level::debug;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return spdlog::level::info;
}

void append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

void append_time(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(ms % 1000));
  append(dest, std::string_view(buf, static_cast<std::size_t>(n)));
}

// Calls on_field(key, value) for each field of a structured payload and returns the message;
// a plain payload is returned as is with `structured` false.
template <class F>
std::string_view split_record(std::string_view payload, bool& structured, F&& on_field) {
  structured = !payload.empty() && payload.front() == kRecord;
  if (!structured) return payload;
  payload.remove_prefix(1);
  auto end = payload.find(kField);
  std::string_view msg = payload.substr(0, end);
  while (end != std::string_view::npos) {
    payload.remove_prefix(end + 1);
    end = payload.find(kField);
    std::string_view item = payload.substr(0, end);
    auto sep = item.find(kRecord);
    if (sep == std::string_view::npos) continue;
    on_field(item.substr(0, sep), item.substr(sep + 1));
  }
  return msg;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& m, spdlog::memory_buf_t& dest) override {
    append(dest, "{\"ts\":\"");
    append_time(dest, m.time);
    append(dest, "\",\"level\":\"");
    append(dest, level_name(m.level));
    append(dest, "\",\"msg\":\"");
    bool structured = false;
    std::string fields;
    std::string_view payload(m.payload.data(), m.payload.size());
    std::string_view msg = split_record(payload, structured, [&](std::string_view k, std::string_view v) {
      fields += ",\"";
      fields += k;
      fields += "\":\"";
      fields += v;
      fields += '"';
    });
    if (structured) {
      append(dest, msg);
    } else {
      append(dest, json_escape(msg));
    }
    append(dest, "\"");
    append(dest, fields);
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// Text: "2024-05-01T12:00:00.123Z info  listening port=\"8080\"". Control characters are
// escaped so that a value cannot forge a log line.
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& m, spdlog::memory_buf_t& dest) override {
    append_time(dest, m.time);
    append(dest, " ");
    std::string level(level_name(m.level));
    level.resize(std::max<std::size_t>(level.size(), 5), ' ');
    append(dest, level);
    append(dest, " ");
    bool structured = false;
    std::string fields;
    std::string_view payload(m.payload.data(), m.payload.size());
    std::string_view msg = split_record(payload, structured, [&](std::string_view k, std::string_view v) {
      fields += ' ';
      fields += k;
      fields += "=\"";
      fields += v;
      fields += '"';
    });
    append(dest, structured ? std::string(msg) : json_escape(msg));
    append(dest, fields);
    append(dest, "\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }
};

void install(const LogConfig& config, spdlog::sink_ptr sink) {
  if (config.format == "text") {
    sink->set_formatter(std::make_unique<TextFormatter>());
  } else {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  }
  auto logger = std::make_shared<spdlog::logger>("parley", std::move(sink));
  logger->set_level(parse_level(config.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void log_record(spdlog::level::level_enum level, std::string_view msg,
                std::initializer_list<LogField> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string rec(1, kRecord);
  rec += json_escape(msg);
  for (const auto& [k, v] : fields) {
    rec += kField;
    rec += json_escape(k);
    rec += kRecord;
    rec += json_escape(v);
  }
  logger->log(level, std::string_view(rec));
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    const std::size_t n = utf8_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

void init_logging(const LogConfig& config) {
  install(config, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

void init_logging(const LogConfig& config, std::ostream& out) {
  install(config, std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true));
}

void log_debug(std::string_view msg, std::initializer_list<LogField> fields) {
  log_record(spdlog::level::debug, msg, fields);
}
void log_info(std::string_view msg, std::initializer_list<LogField> fields) {
  log_record(spdlog::level::info, msg, fields);
}
void log_warn(std::string_view msg, std::initializer_list<LogField> fields) {
  log_record(spdlog::level::warn, msg, fields);
}
void log_error(std::string_view msg, std::initializer_list<LogField> fields) {
  log_record(spdlog::level::err, msg, fields);
}

}  // namespace parley::ops
