#include "core/validate.h"

#include <cstdint>

namespace parley::core {

namespace {

// Decodes one code point at s[i]; returns its length or 0 when ill-formed.
std::size_t decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = 0;
  if (c < 0x80) { cp = c; return 1; }
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

Error invalid(std::string_view field, std::string_view why) {
  return make_error(Errc::kInvalidArgument, std::string(field) + ": " + std::string(why));
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = decode(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status validate_text(std::string_view field, std::string_view s, std::size_t max_bytes,
                     bool allow_newlines) {
  if (s.size() > max_bytes) {
    return invalid(field, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = decode(s, i, cp);
    if (n == 0) return invalid(field, "not valid UTF-8");
    bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
    if (control) {
      bool ok = cp == '\t' || (allow_newlines && (cp == '\n' || cp == '\r'));
      if (!ok) return invalid(field, "contains a control character");
    }
    i += n;
  }
  return ok_status();
}

Result<std::string> normalize_username(std::string_view raw) {
  std::string u;
  u.reserve(raw.size());
  for (char c : raw) u.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  if (u.size() < 2 || u.size() > 32) return invalid("username", "must be 2 to 32 characters");
  for (char c : u) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return invalid("username", "only letters, digits, '.', '_' and '-' are allowed");
  }
  char f = u.front();
  if (!((f >= 'a' && f <= 'z') || (f >= '0' && f <= '9'))) {
    return invalid("username", "must start with a letter or digit");
  }
  return u;
}

Status validate_password(std::string_view pw) {
  if (pw.size() < kMinPasswordBytes) return invalid("password", "must be at least 8 characters");
  if (pw.size() > kMaxPasswordBytes) return invalid("password", "must be at most 256 bytes");
  if (!is_valid_utf8(pw)) return invalid("password", "not valid UTF-8");
  return ok_status();
}

Status validate_email(std::string_view email) {
  if (email.empty()) return ok_status();
  if (email.size() > kMaxEmailBytes) return invalid("email", "too long");
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size() ||
      email.find('@', at + 1) != std::string_view::npos) {
    return invalid("email", "not an e-mail address");
  }
  for (char c : email) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return invalid("email", "not an e-mail address");
  }
  return validate_text("email", email, kMaxEmailBytes, false);
}

Status validate_body(std::string_view body) {
  // The one field whose size limit is a 413: a message body is the payload itself.
  if (body.size() > kMaxBodyBytes) {
    return make_error(Errc::kTooLarge,
                      "body: longer than " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  auto st = validate_text("body", body, kMaxBodyBytes, true);
  if (!st) return st;
  bool blank = true;
  for (char c : body) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') { blank = false; break; }
  }
  if (blank) return invalid("body", "must not be empty");
  return ok_status();
}

Status validate_client_txn_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientTxnIdBytes) {
    return invalid("client_txn_id", "must be 1 to 64 characters");
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) return invalid("client_txn_id", "must be printable ASCII");
  }
  return ok_status();
}

}  // namespace parley::core
