// core/error.h: the fixed set of domain errors. Each maps one-to-one onto a stable API error
// code (the `code` field of problem+json bodies and gateway `error` frames) and an HTTP status.
// Adding a value means documenting it in docs/protocol.md in the same commit.
#pragma once

#include <string>
#include <string_view>

namespace parley::core {

enum class Errc {
  kInvalidArgument,   // malformed or out-of-range input          400 invalid_argument
  kInvalidJson,       // body or frame is not valid JSON           400 invalid_json
  kUnauthorized,      // missing, unknown, expired or revoked token 401 unauthorized
  kForbidden,         // authenticated but the policy says no       403 forbidden
  kNotFound,          // no such thing, or not visible to the actor 404 not_found
  kConflict,          // unique constraint (username taken, ...)    409 conflict
  kTooLarge,          // body, frame or field over its limit        413 too_large
  kRateLimited,       // slow down; retry_after_ms says how long    429 rate_limited
  kUnavailable,       // dependency down or draining                503 unavailable
  kInternal,          // a bug or an unexpected store failure       500 internal
  kQuotaExceeded,     // the user's storage quota would be exceeded 413 quota_exceeded
  kUnsupportedType,   // content type not allowed (detected type)   415 unsupported_type
  kMentionNotAllowed, // @room/@here in a large room by a plain member 403 mention_not_allowed
};

// Stable wire code, e.g. "not_found".
std::string_view code_name(Errc e);
// HTTP status for the error.
int http_status(Errc e);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;            // human readable, safe to show to the client
  long long retry_after_ms = 0;   // only for kRateLimited
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message), 0}; }

}  // namespace parley::core
