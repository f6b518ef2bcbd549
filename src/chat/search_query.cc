#include "chat/search_query.h"

#include <algorithm>
#include <optional>

#include "core/validate.h"

namespace parley::chat {

using core::Errc;
using core::make_error;
using store::SearchTerm;

namespace {

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr std::string_view kOperators = "from:, in:, has:, mentions:, is:, before:, after:, during:, on:";

core::Error refuse(std::string why) { return make_error(Errc::kInvalidArgument, "q: " + std::move(why)); }

bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// Decodes the UTF-8 code point at s[i] (the input is valid UTF-8), advancing i.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len && i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

// Whether the search index keeps this character as part of a word (an approximation of the
// unicode61 tokenizer: letters and digits; punctuation, symbols and emoji separate words).
bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;   // Latin-1 punctuation, × ÷
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;            // punctuation, arrows, symbols
  if (cp >= 0x3000 && cp <= 0x303F) return false;            // CJK punctuation
  if (cp >= 0xFE00 && cp <= 0xFE0F) return false;            // variation selectors
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;            // full-width punctuation
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;          // emoji
  return true;
}

bool has_word_char(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (is_word_char(next_code_point(s, i))) return true;
  }
  return false;
}

// Word characters at the end of `s`, after its last separator: the part a prefix applies to.
std::size_t trailing_word_chars(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    n = is_word_char(next_code_point(s, i)) ? n + 1 : 0;
  }
  return n;
}

// "YYYY", "YYYY-MM" or "YYYY-MM-DD" (parts = 1, 2 or 3); months and days checked.
struct Date {
  std::int64_t y = 0;
  unsigned m = 1, d = 1;
  int parts = 0;
};

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

std::optional<Date> parse_date(std::string_view s) {
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<unsigned> {
    if (at + n > s.size()) return std::nullopt;
    unsigned v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return v;
  };
  Date d;
  auto y = digits(0, 4);
  if (!y || *y < 1970) return std::nullopt;
  d.y = *y;
  d.parts = 1;
  if (s.size() == 4) return d;
  if (s.size() < 7 || s[4] != '-') return std::nullopt;
  auto m = digits(5, 2);
  if (!m || *m < 1 || *m > 12) return std::nullopt;
  d.m = *m;
  d.parts = 2;
  if (s.size() == 7) return d;
  if (s.size() != 10 || s[7] != '-') return std::nullopt;
  auto day = digits(8, 2);
  if (!day || *day < 1 || *day > days_in_month(d.y, d.m)) return std::nullopt;
  d.d = *day;
  d.parts = 3;
  return d;
}

// The first day after the period `d` names (the next year, month or day).
Date period_end(Date d) {
  if (d.parts == 1) return Date{d.y + 1, 1, 1, 1};
  if (d.parts == 2) return d.m == 12 ? Date{d.y + 1, 1, 1, 2} : Date{d.y, d.m + 1, 1, 2};
  if (d.d < days_in_month(d.y, d.m)) return Date{d.y, d.m, d.d + 1, 3};
  return d.m == 12 ? Date{d.y + 1, 1, 1, 3} : Date{d.y, d.m + 1, 1, 3};
}

class Parser {
 public:
  Parser(std::string_view q, int tz) : q_(q), tz_ms_(static_cast<std::int64_t>(tz) * 60'000) {}

  core::Result<ParsedSearch> parse() {
    while (true) {
      while (pos_ < q_.size() && is_space(q_[pos_])) ++pos_;
      if (pos_ >= q_.size()) break;
      if (++items_ > kMaxSearchItems) {
        return refuse("too many terms (at most " + std::to_string(kMaxSearchItems) + ")");
      }
      bool exclude = false;
      if (q_[pos_] == '-' && pos_ + 1 < q_.size() && !is_space(q_[pos_ + 1])) {
        exclude = true;
        ++pos_;
      }
      core::Status st = q_[pos_] == '"' ? quoted_term(exclude) : bare(exclude);
      if (!st) return st.take_error();
    }
    if (out_.after != 0 && out_.before != 0 && out_.after >= out_.before) {
      return refuse("the dates leave no time to search in");
    }
    const bool filter = !out_.from.empty() || !out_.in_groups.empty() || !out_.in_dms.empty() ||
                        out_.has_link || out_.has_file || out_.has_image || out_.mentions_me ||
                        out_.is_thread || out_.after != 0 || out_.before != 0;
    const bool positive = std::any_of(out_.terms.begin(), out_.terms.end(),
                                      [](const SearchTerm& t) { return !t.exclude; });
    if (!positive && !filter) {
      return refuse(out_.terms.empty()
                        ? "nothing to search for: give a word or a filter such as from:@name"
                        : "-exclusions need a word or a filter to exclude from");
    }
    return std::move(out_);
  }

 private:
  // The text between a pair of double quotes starting at pos_; pos_ ends after the closing one.
  core::Result<std::string_view> quoted() {
    std::size_t close = q_.find('"', pos_ + 1);
    if (close == std::string_view::npos) return refuse("unbalanced quote: close the \" phrase");
    std::string_view text = q_.substr(pos_ + 1, close - pos_ - 1);
    pos_ = close + 1;
    return text;
  }

  std::size_t stars() {
    std::size_t n = 0;
    while (pos_ < q_.size() && q_[pos_] == '*') ++pos_, ++n;
    return n;
  }

  core::Status quoted_term(bool exclude) {
    auto text = quoted();
    if (!text) return text.take_error();
    const bool prefix = stars() > 0;
    return add_term(*text, prefix ? SearchTerm::Kind::kPrefix : SearchTerm::Kind::kPhrase, exclude,
                    prefix);
  }

  core::Status bare(bool exclude) {
    std::size_t start = pos_;
    while (pos_ < q_.size() && !is_space(q_[pos_]) && q_[pos_] != '"') ++pos_;
    std::string_view tok = q_.substr(start, pos_ - start);
    std::size_t colon = tok.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      std::string_view name = tok.substr(0, colon);
      const bool alpha = std::all_of(name.begin(), name.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
      });
      std::string_view value = tok.substr(colon + 1);
      if (alpha && is_operator(lowered(name))) {
        if (exclude) return refuse("-" + std::string(tok) + ": operators cannot be negated");
        return operator_item(lowered(name), value);
      }
      // A link (https://...) or a word ending in ':' is text; anything else looks like an
      // operator or a column filter the user expects to work, so say it does not exist.
      if (alpha && !value.empty() && value.substr(0, 2) != "//") {
        return refuse("unknown operator " + std::string(name) + ": (operators are " +
                      std::string(kOperators) + "; put it in quotes to search for the text)");
      }
    }
    std::size_t n = tok.size();
    while (n > 0 && tok[n - 1] == '*') --n;
    const bool prefix = n < tok.size();
    return add_term(tok.substr(0, n), prefix ? SearchTerm::Kind::kPrefix : SearchTerm::Kind::kWord,
                    exclude, prefix);
  }

  core::Status add_term(std::string_view text, SearchTerm::Kind kind, bool exclude, bool prefix) {
    if (prefix && trailing_word_chars(text) < kMinPrefixChars) {
      return refuse("a prefix needs at least " + std::to_string(kMinPrefixChars) +
                    " letters or digits before the *");
    }
    // Punctuation alone ("-", "&&", "()") indexes as nothing: leave it out.
    if (!has_word_char(text)) return core::ok_status();
    out_.terms.push_back(SearchTerm{kind, std::string(text), exclude});
    return core::ok_status();
  }

  static bool is_operator(const std::string& name) {
    for (std::string_view op :
         {"from", "in", "has", "mentions", "is", "before", "after", "during", "on"}) {
      if (name == op) return true;
    }
    return false;
  }

  // The operator's value: the rest of the token, or a quoted string right after the colon
  // (optionally after a '#' or '@'): in:#"team chat".
  core::Result<std::string> value_of(std::string_view rest) {
    if ((rest.empty() || rest == "#" || rest == "@") && pos_ < q_.size() && q_[pos_] == '"') {
      auto text = quoted();
      if (!text) return text.take_error();
      return std::string(rest) + std::string(*text);
    }
    return std::string(rest);
  }

  core::Status operator_item(const std::string& name, std::string_view rest) {
    auto v = value_of(rest);
    if (!v) return v.take_error();
    std::string value = std::move(v.value());
    if (value.empty() || value == "#" || value == "@") {
      return refuse(name + ": needs a value, e.g. " + example(name));
    }
    if (name == "from") return user_list(name, value, out_.from, true);
    if (name == "in") {
      if (value.front() == '@') return user_list(name, value, out_.in_dms, false);
      std::string room = value.front() == '#' ? value.substr(1) : value;
      if (room.size() > core::kMaxRoomNameBytes) return refuse("in: room name too long");
      out_.in_groups.push_back(std::move(room));
      return core::ok_status();
    }
    std::string v_lower = lowered(value);
    if (name == "has") {
      if (v_lower == "link") out_.has_link = true;
      else if (v_lower == "file") out_.has_file = true;
      else if (v_lower == "image") out_.has_image = true;
      else return refuse("has: takes link, file or image, not \"" + value + "\"");
      return core::ok_status();
    }
    if (name == "mentions") {
      if (v_lower != "me" && v_lower != "@me") return refuse("mentions: takes me (mentions:me)");
      out_.mentions_me = true;
      return core::ok_status();
    }
    if (name == "is") {
      if (v_lower != "thread") return refuse("is: takes thread (is:thread)");
      out_.is_thread = true;
      return core::ok_status();
    }
    // Dates.
    auto d = parse_date(value);
    if (!d || (name != "during" && d->parts != 3)) {
      return refuse(name + ": expects a date like " + example(name) + ", not \"" + value + "\"");
    }
    const std::int64_t start = start_ms(*d), end = start_ms(period_end(*d));
    if (name == "before") {
      tighten_before(start);
    } else if (name == "after") {
      tighten_after(end);
    } else {  // during:, on:
      tighten_after(start);
      tighten_before(end);
    }
    return core::ok_status();
  }

  core::Status user_list(const std::string& name, const std::string& value,
                         std::vector<std::string>& into, bool allow_me) {
    if (allow_me && lowered(value) == "me") {
      into.push_back("me");
      return core::ok_status();
    }
    std::string_view raw = value;
    if (raw.front() == '@') raw.remove_prefix(1);
    auto u = core::normalize_username(raw);
    if (!u) return refuse(name + ": \"" + value + "\" is not a username (" + name + ":@name)");
    into.push_back(std::move(u.value()));
    return core::ok_status();
  }

  static std::string example(const std::string& name) {
    if (name == "from") return "from:@alice";
    if (name == "in") return "in:#general or in:@alice";
    if (name == "has") return "has:link";
    if (name == "mentions") return "mentions:me";
    if (name == "is") return "is:thread";
    if (name == "during") return "during:2026-01 or during:2026-01-31";
    return name + ":2026-01-31";
  }

  std::int64_t start_ms(const Date& d) const {
    return days_from_civil(d.y, d.m, d.d) * kDayMs - tz_ms_;
  }
  void tighten_after(std::int64_t v) { out_.after = out_.after == 0 ? v : std::max(out_.after, v); }
  void tighten_before(std::int64_t v) {
    out_.before = out_.before == 0 ? v : std::min(out_.before, v);
  }

  std::string_view q_;
  std::int64_t tz_ms_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
  ParsedSearch out_;
};

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm (public domain), as in C++20 <chrono>'s sys_days.
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

core::Result<ParsedSearch> parse_search_query(std::string_view q, int tz_offset_minutes) {
  if (q.size() > kMaxSearchQueryBytes) {
    return refuse("longer than " + std::to_string(kMaxSearchQueryBytes) + " bytes");
  }
  if (tz_offset_minutes < -kMaxTzOffsetMinutes || tz_offset_minutes > kMaxTzOffsetMinutes) {
    return make_error(Errc::kInvalidArgument, "tz_offset: must be -840..840 minutes");
  }
  if (auto st = core::validate_text("q", q, kMaxSearchQueryBytes, true); !st) return st.take_error();
  return Parser(q, tz_offset_minutes).parse();
}

}  // namespace parley::chat
