// chat/search_query.h: the search query language (docs/search.md) parsed into a small AST.
// Pure functions, no I/O: names (users, rooms) stay names here; the SearchService resolves them.
//
//   deploy "exact phrase" rel* -draft from:@alice in:#ops in:@bob has:link has:file has:image
//   mentions:me is:thread before:2026-01-31 after:2026-01-01 during:2026-01 on:2026-01-15
//
// Every refusal is kInvalidArgument with a message that starts with "q: " and says what to fix
// (unbalanced quote, unknown operator, bad date, too long, too many terms, nothing to search).
//
// Threading: thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace parley::chat {

// Bounds (documented in docs/search.md).
inline constexpr std::size_t kMaxSearchQueryBytes = 512;
inline constexpr std::size_t kMaxSearchItems = 32;       // terms and operators together
inline constexpr std::size_t kMinPrefixChars = 2;        // "de*" is fine, "d*" is refused
inline constexpr int kMaxTzOffsetMinutes = 14 * 60;

struct ParsedSearch {
  std::vector<store::SearchTerm> terms;  // only terms with something searchable in them
  std::vector<std::string> from;         // usernames (normalised, without '@'); "me" kept as is
  std::vector<std::string> in_groups;    // group room names as written (without '#')
  std::vector<std::string> in_dms;       // usernames of DM partners (normalised)
  bool has_link = false;
  bool has_file = false;
  bool has_image = false;
  bool mentions_me = false;
  bool is_thread = false;
  std::int64_t after = 0;   // created_at >= after (Unix ms; 0: no bound)
  std::int64_t before = 0;  // created_at < before (Unix ms; 0: no bound)
};

// Parses `q`. Dates are calendar days (and months, for during:) in the time zone `tz_offset`
// minutes east of UTC (-840..840; the client's offset, 0 = UTC).
core::Result<ParsedSearch> parse_search_query(std::string_view q, int tz_offset_minutes = 0);

// Days since 1970-01-01 of a proleptic Gregorian date (no validation).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

}  // namespace parley::chat
