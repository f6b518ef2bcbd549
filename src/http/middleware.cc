#include "http/middleware.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "http/problem.h"

namespace parley::http {

namespace {

constexpr std::string_view kApiCsp = "default-src 'none'; frame-ancestors 'none'";
constexpr std::string_view kDownloadCsp = "sandbox; default-src 'none'; frame-ancestors 'none'";
constexpr std::string_view kWebCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

void set_header(Response& r, std::string_view name, std::string value) {
  for (auto& [k, v] : r.headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  r.headers.emplace_back(std::string(name), std::move(value));
}

std::string_view response_header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

void add_security_headers(Response& r, ContentKind kind, bool tls) {
  set_header(r, "X-Content-Type-Options", "nosniff");
  set_header(r, "Referrer-Policy", "no-referrer");
  set_header(r, "X-Frame-Options", "DENY");
  set_header(r, "Cross-Origin-Opener-Policy", "same-origin");
  set_header(r, "Content-Security-Policy",
             std::string(kind == ContentKind::kWebPage   ? kWebCsp
                         : kind == ContentKind::kDownload ? kDownloadCsp
                                                          : kApiCsp));
  if (kind == ContentKind::kDownload) set_header(r, "Cross-Origin-Resource-Policy", "same-origin");
  if (tls) set_header(r, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

Response transport_error_response(const Request& req, const core::Error& error) {
  std::string id(req.header("x-request-id"));
  if (!valid_request_id(id)) {
    // No per-process state here: a random id is good enough for the rare transport errors.
    std::random_device rd;
    static constexpr char kHex[] = "0123456789abcdef";
    id = "t-";
    for (int i = 0; i < 16; ++i) id.push_back(kHex[rd() & 15]);
  }
  Response r = problem_response(error, id);
  set_header(r, "X-Request-Id", id);
  set_header(r, "Cache-Control", "no-store");
  add_security_headers(r, ContentKind::kApi, req.tls);
  return r;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

Credentials credentials(const Request& req) {
  std::string_view auth = trim(req.header("authorization"));
  if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer ")) {
    return Credentials{std::string(trim(auth.substr(7))), false};
  }
  std::string cookie = cookie_value(req.header("cookie"), kSessionCookie);
  if (!cookie.empty()) return Credentials{std::move(cookie), true};
  return {};
}

bool is_mutation(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  auto host_end = url.find_first_of("/?#", scheme_end + 3);
  return lower(url.substr(0, host_end));
}

bool same_origin_request(const Request& req, const std::vector<std::string>& allowed_origins,
                         std::string_view public_url) {
  if (iequals(trim(req.header("sec-fetch-site")), "same-origin")) return true;
  std::string origin = lower(trim(req.header("origin")));
  if (origin.empty() || origin == "null") return false;
  std::string_view host = trim(req.header("host"));
  if (!host.empty() && origin == lower(std::string(req.tls ? "https://" : "http://") + std::string(host))) {
    return true;
  }
  if (!public_url.empty() && origin == origin_of(public_url)) return true;
  return std::any_of(allowed_origins.begin(), allowed_origins.end(),
                     [&](const std::string& a) { return origin == lower(trim(a)); });
}

bool is_json_content_type(std::string_view ct) {
  std::string_view media = trim(ct.substr(0, ct.find(';')));
  return iequals(media, "application/json");
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Query> parse_query(std::string_view query) {
  Query q;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      auto k = percent_decode(part.substr(0, eq), true);
      auto v = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1),
                              true);
      if (!k || !v) return std::nullopt;
      q.emplace_back(std::move(*k), std::move(*v));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return q;
}

std::optional<std::string_view> query_value(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string session_cookie(std::string_view token, std::int64_t max_age_s, bool tls) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(token) +
                  "; HttpOnly; SameSite=Lax; Path=/; Max-Age=" +
                  std::to_string(std::max<std::int64_t>(0, max_age_s));
  if (tls) c += "; Secure";
  return c;
}

std::string clear_session_cookie(bool tls) { return session_cookie("", 0, tls); }

}  // namespace parley::http
