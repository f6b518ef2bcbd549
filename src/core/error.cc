#include "core/error.h"

namespace parley::core {

std::string_view code_name(Errc e) {
  switch (e) {
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kInvalidJson: return "invalid_json";
    case Errc::kUnauthorized: return "unauthorized";
    case Errc::kForbidden: return "forbidden";
    case Errc::kNotFound: return "not_found";
    case Errc::kConflict: return "conflict";
    case Errc::kTooLarge: return "too_large";
    case Errc::kRateLimited: return "rate_limited";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kInternal: return "internal";
    case Errc::kQuotaExceeded: return "quota_exceeded";
    case Errc::kUnsupportedType: return "unsupported_type";
    case Errc::kMentionNotAllowed: return "mention_not_allowed";
  }
  return "internal";
}

int http_status(Errc e) {
  switch (e) {
    case Errc::kInvalidArgument: return 400;
    case Errc::kInvalidJson: return 400;
    case Errc::kUnauthorized: return 401;
    case Errc::kForbidden: return 403;
    case Errc::kNotFound: return 404;
    case Errc::kConflict: return 409;
    case Errc::kTooLarge: return 413;
    case Errc::kRateLimited: return 429;
    case Errc::kUnavailable: return 503;
    case Errc::kInternal: return 500;
    case Errc::kQuotaExceeded: return 413;
    case Errc::kUnsupportedType: return 415;
    case Errc::kMentionNotAllowed: return 403;
  }
  return 500;
}

}  // namespace parley::core
