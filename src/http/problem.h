// http/problem.h: RFC 9457 problem+json error responses with Parley's stable error codes
// (docs/protocol.md, "Errors"): {type, title, status, code, detail, request_id}.
//
// Pure functions, no state: callable from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "http/api.h"

namespace parley::http {

// The standard reason phrase for an HTTP status ("Not Found"), or "Error" when unknown.
std::string_view status_title(int status);

// A problem+json response for `error`: status from core::http_status(), `code` from
// core::code_name(), `detail` = error.message (safe to show), and for kRateLimited a
// `Retry-After` header in whole seconds (rounded up, at least 1) and `retry_after_ms` in the body.
// Headers added here: Content-Type only (the dispatcher adds the common ones).
Response problem_response(const core::Error& error, std::string_view request_id);

}  // namespace parley::http
