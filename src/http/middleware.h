// http/middleware.h: the request/response rules every route shares, as pure functions: request
// ids, security headers, credentials (bearer or cookie), the CSRF origin check, content types,
// target and query parsing, the session cookie. The dispatcher (http/dispatcher.h) applies them;
// the transport (net/) uses them for the few responses it must produce itself (413 before the
// body is read, 400 for unparsable requests).
//
// Threading: stateless; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "http/api.h"

namespace parley::http {

inline constexpr std::string_view kSessionCookie = "parley_session";

// Which Content-Security-Policy a response gets.
enum class ContentKind {
  kApi,      // JSON, problem+json, text: `default-src 'none'; frame-ancestors 'none'`
  kWebPage,  // the static web client: self-hosted scripts, styles, images, connections
  kDownload, // a user's file: `sandbox; default-src 'none'; frame-ancestors 'none'` (opened
             // directly it runs no script and reaches nothing, whatever it contains), plus
             // Cross-Origin-Resource-Policy: same-origin
};

// 1..64 characters of [A-Za-z0-9._-]: a client's X-Request-Id we are willing to echo.
bool valid_request_id(std::string_view id);

// X-Content-Type-Options, Referrer-Policy, X-Frame-Options, Cross-Origin-Opener-Policy,
// Content-Security-Policy (by kind) and, when `tls`, Strict-Transport-Security. Replaces any
// of those already present.
void add_security_headers(Response& r, ContentKind kind, bool tls);

// Sets (or replaces) a header on a response.
void set_header(Response& r, std::string_view name, std::string value);
// First header with that name (case-insensitive), or "".
std::string_view response_header(const Response& r, std::string_view name);

// The response the transport sends when it cannot hand a request to the Api (body over the
// limit, unparsable request): problem+json with the request id and every common header.
Response transport_error_response(const Request& headers_only, const core::Error& error);

struct Credentials {
  std::string token;         // "" when none
  bool from_cookie = false;  // true when taken from the parley_session cookie
};
// `Authorization: Bearer <token>` wins over the cookie (a bearer token cannot be attached by
// a cross-site page, so it needs no CSRF check).
Credentials credentials(const Request& req);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string cookie_value(std::string_view cookie_header, std::string_view name);

// True for methods that change state: POST, PUT, PATCH, DELETE.
bool is_mutation(std::string_view method);

// The CSRF rule for cookie-authenticated mutations (docs/protocol.md, "Authentication"):
// `Sec-Fetch-Site: same-origin`, or an Origin equal to the request's own origin (scheme from
// req.tls, host from Host), to the origin of `public_url`, or to one of `allowed_origins`.
bool same_origin_request(const Request& req, const std::vector<std::string>& allowed_origins,
                         std::string_view public_url);

// "scheme://host[:port]" of a URL, lower-cased, without path; "" if it has no scheme.
std::string origin_of(std::string_view url);

// True for `application/json` with optional parameters (`; charset=utf-8`), any case.
bool is_json_content_type(std::string_view content_type);

// Splits "path?query".
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

// Percent-decodes; nullopt on a malformed escape. `plus_is_space` for query strings.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

using Query = std::vector<std::pair<std::string, std::string>>;
// Parses "a=1&b=x%20y"; nullopt when an escape is malformed.
std::optional<Query> parse_query(std::string_view query);
// The first value for `key`, or nullopt when absent.
std::optional<std::string_view> query_value(const Query& q, std::string_view key);

// Set-Cookie values for the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure when tls.
std::string session_cookie(std::string_view token, std::int64_t max_age_s, bool tls);
std::string clear_session_cookie(bool tls);

}  // namespace parley::http
