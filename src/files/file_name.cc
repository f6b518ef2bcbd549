#include "files/file_name.h"

#include "core/validate.h"

namespace parley::files {

namespace {

// Decodes one UTF-8 sequence at s[i] (already validated); returns the code point and its length.
char32_t decode(std::string_view s, std::size_t i, std::size_t& len) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    len = 1;
    return b;
  }
  int n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  char32_t cp = b & (0x7F >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  len = static_cast<std::size_t>(n);
  return cp;
}

bool removed(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;   // controls
  if (cp >= 0x202A && cp <= 0x202E) return true;  // LRE RLE PDF LRO RLO
  if (cp >= 0x2066 && cp <= 0x2069) return true;  // LRI RLI FSI PDI
  if (cp == 0x200E || cp == 0x200F || cp == 0x061C) return true;  // LRM RLM ALM
  if (cp >= 0x200B && cp <= 0x200D) return true;  // zero-width space / non-joiner / joiner
  if (cp == 0x2060 || cp == 0xFEFF) return true;  // word joiner, BOM
  return false;
}

}  // namespace

core::Result<std::string> sanitize_file_name(std::string_view raw) {
  if (!core::is_valid_utf8(raw)) {
    return core::make_error(core::Errc::kInvalidArgument, "name: not valid UTF-8");
  }
  auto slash = raw.find_last_of("/\\");
  if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t len = 1;
    char32_t cp = decode(raw, i, len);
    if (!removed(cp)) out.append(raw.substr(i, len));
    i += len;
  }
  auto first = out.find_first_not_of(" .");
  if (first == std::string::npos) return std::string("file");
  auto last = out.find_last_not_of(" .");
  out = out.substr(first, last - first + 1);
  if (out.size() > kMaxFileNameBytes) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "name: longer than " + std::to_string(kMaxFileNameBytes) + " bytes");
  }
  return out;
}

std::string content_disposition(std::string_view name, bool inline_) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string fallback, encoded;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    fallback.push_back(c < 0x20 || c >= 0x7F || c == '"' || c == '\\' ? '_' : ch);
    // RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
    bool attr = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
    if (attr) {
      encoded.push_back(ch);
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 15]);
    }
  }
  return std::string(inline_ ? "inline" : "attachment") + "; filename=\"" + fallback +
         "\"; filename*=UTF-8''" + encoded;
}

}  // namespace parley::files
