// core/validate.h: input rules shared by REST and the gateway. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace parley::core {

inline constexpr std::size_t kMaxBodyBytes = 16 * 1024;      // message body (UTF-8 bytes)
inline constexpr std::size_t kMaxDisplayNameBytes = 64;
inline constexpr std::size_t kMaxRoomNameBytes = 80;
inline constexpr std::size_t kMaxTopicBytes = 512;
inline constexpr std::size_t kMaxClientTxnIdBytes = 64;
inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 256;
inline constexpr std::size_t kMaxEmailBytes = 254;

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Valid UTF-8 without C0/C1 control characters other than \n and \t (and \r for bodies).
Status validate_text(std::string_view field, std::string_view s, std::size_t max_bytes,
                     bool allow_newlines);

// Lower-cases and checks a username: 2..32 of [a-z0-9._-], starting with a letter or digit.
Result<std::string> normalize_username(std::string_view raw);

Status validate_password(std::string_view pw);
Status validate_email(std::string_view email);  // "" allowed (unset)
// A message body: non-empty after trimming, <= kMaxBodyBytes, text rules above.
Status validate_body(std::string_view body);
Status validate_client_txn_id(std::string_view id);  // 1..64 printable ASCII

}  // namespace parley::core
