// ops/log.h: structured logs. init_logging() configures spdlog's default logger once at
// start-up (app/ calls it before anything logs): JSON lines on stderr, e.g.
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"listening","port":"8080"}
// or, with log.format = text, human-readable lines. Plain spdlog::info(...) calls work too
// (their text becomes "msg").
//
// NEVER pass tokens, passwords, invite codes or message bodies, neither in the message nor in
// fields. Ids, counts, routes, error codes and durations are fine.
//
// Threading: init_logging() at start-up, before other threads log. log_*() are thread-safe.
#pragma once

#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace parley::ops {

struct LogConfig;

using LogField = std::pair<std::string_view, std::string>;

// Configures the default logger from `config` (level, format), writing to stderr.
void init_logging(const LogConfig& config);
// The same, writing to `out` (tests). `out` must outlive all logging.
void init_logging(const LogConfig& config, std::ostream& out);

// A message with structured fields; values are escaped, so any text is safe to pass
// (but see above for what must never be passed).
void log_debug(std::string_view msg, std::initializer_list<LogField> fields = {});
void log_info(std::string_view msg, std::initializer_list<LogField> fields = {});
void log_warn(std::string_view msg, std::initializer_list<LogField> fields = {});
void log_error(std::string_view msg, std::initializer_list<LogField> fields = {});

// JSON string escaping (without the surrounding quotes); invalid UTF-8 bytes become U+FFFD.
std::string json_escape(std::string_view s);

}  // namespace parley::ops
