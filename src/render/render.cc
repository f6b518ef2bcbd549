#include "render/render.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace parley::render {
namespace {

struct EmojiEntry {
  std::string_view name;
  std::string_view emoji;
};
constexpr EmojiEntry kEmoji[] = {
#include "render/emoji_table.inc"
};

constexpr std::size_t kMaxShortcode = 48;  // the generator keeps no longer names
// Work budgets for the pre-parse checks in Renderer::render (about 1 ms each at the budget).
constexpr std::size_t kMaxImageBracketWork = 200'000;  // "![" count x "]" count
constexpr std::size_t kMaxAutolinkWork = 1'000'000;    // '@' count x body bytes
constexpr std::size_t kMaxUsername = 32;   // core::normalize_username

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_name_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }
bool is_shortcode_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
}
// A character that glues an '@' to the word before it ("bob@example.com" is no mention).
bool glues(char c) {
  return is_name_char(c) || c == '+' || c == '@' || c == '/' || static_cast<unsigned char>(c) >= 0x80;
}

void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

// C0 and C1 controls other than tab and newline become U+FFFD: they are invalid in HTML text,
// and \x01 / \x02 must never appear in the output except around mention slots. They cannot be
// typed (core::validate_body) but a character reference (&#1;) decodes to one.
bool needs_sanitizing(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return true;
  }
  return false;
}
std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
      out += "\xef\xbf\xbd";
    } else if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Only absolute http(s) and mailto URLs make links. cmark has already decoded character
// references and percent-encoding is not decoded by browsers in a scheme, so the check is on
// the URL as the browser will see it; any space or control character disqualifies it.
bool allowed_url(std::string_view url) {
  if (url.empty()) return false;
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  auto colon = url.find(':');
  if (colon == std::string_view::npos) return false;
  std::string scheme = lower(url.substr(0, colon));
  if (scheme == "http" || scheme == "https") return url.substr(colon + 1, 2) == "//";
  return scheme == "mailto" && url.size() > colon + 1;
}

// Collects mentions into a draft within the limits.
class Mentions {
 public:
  Mentions(Draft& d, const Limits& l) : d_(d), l_(l) {}

  // The slot for "@text", or -1 when it stays text (over a limit).
  int add(std::string_view text) {
    if (static_cast<int>(d_.slots.size()) >= l_.max_mention_slots) return -1;
    std::string name = lower(text);
    MentionSlot slot;
    slot.text = std::string(text);
    if (name == "room") {
      slot.kind = MentionSlot::Kind::kRoom;
      d_.mentions_room = true;
    } else if (name == "here") {
      slot.kind = MentionSlot::Kind::kHere;
      d_.mentions_here = true;
    } else {
      auto it = std::find(d_.usernames.begin(), d_.usernames.end(), name);
      if (it == d_.usernames.end()) {
        if (static_cast<int>(d_.usernames.size()) >= l_.max_usernames) return -1;
        d_.usernames.push_back(std::move(name));
        it = d_.usernames.end() - 1;
      }
      slot.name = static_cast<int>(it - d_.usernames.begin());
    }
    d_.slots.push_back(std::move(slot));
    return static_cast<int>(d_.slots.size()) - 1;
  }

 private:
  Draft& d_;
  const Limits& l_;
};

std::string slot_marker(int slot) { return "\x01" + std::to_string(slot) + "\x02"; }

// Splits text into plain runs, emoji and mention slots, in order. `mentions` null: no
// mentions here (inside a link).
template <class Text, class Emoji, class Slot>
void scan(std::string_view s, Mentions* mentions, Text&& text, Emoji&& emoji, Slot&& slot) {
  std::size_t i = 0, start = 0;
  auto flush = [&](std::size_t end) {
    if (end > start) text(s.substr(start, end - start));
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == ':') {
      std::size_t j = i + 1;
      while (j < s.size() && j - i - 1 <= kMaxShortcode && is_shortcode_char(s[j])) ++j;
      if (j < s.size() && s[j] == ':' && j > i + 1) {
        std::string_view e = emoji_for(s.substr(i + 1, j - i - 1));
        if (!e.empty()) {
          flush(i);
          emoji(e);
          i = start = j + 1;
          continue;
        }
      }
      i = std::max(j, i + 1);  // an unknown name's closing colon may open the next one
      continue;
    }
    if (c == '@' && mentions != nullptr && (i == 0 || !glues(s[i - 1]))) {
      std::size_t j = i + 1;
      while (j < s.size() && is_name_char(s[j])) ++j;
      std::size_t end = j;
      while (end > i + 1 && s[end - 1] == '.') --end;  // "thanks @alice."
      std::size_t len = end - i - 1;
      if (len >= 2 && j - i - 1 <= kMaxUsername + 8 && len <= kMaxUsername &&
          is_alnum(s[i + 1]) && !(j < s.size() && s[j] == '@')) {
        int n = mentions->add(s.substr(i + 1, len));
        if (n >= 0) {
          flush(i);
          slot(n);
          i = start = end;
          continue;
        }
      }
      i = std::max(j, i + 1);
      continue;
    }
    ++i;
  }
  flush(s.size());
}

// --- plain-text fallback

std::string plain_html(std::string_view body, Mentions& mentions) {
  std::string safe = sanitize(body);
  std::string out = "<p>";
  auto text = [&](std::string_view t) {
    std::size_t pos = 0;
    while (pos <= t.size()) {
      auto nl = t.find('\n', pos);
      std::string_view line = t.substr(pos, nl == std::string_view::npos ? t.npos : nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      append_escaped(out, line);
      if (nl == std::string_view::npos) break;
      out += "<br />\n";
      pos = nl + 1;
    }
  };
  scan(safe, &mentions, text, [&](std::string_view e) { out += e; },
       [&](int n) { out += slot_marker(n); });
  out += "</p>\n";
  return out;
}

// --- cmark

struct NodeFree {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct ParserFree {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
using NodePtr = std::unique_ptr<cmark_node, NodeFree>;
using ParserPtr = std::unique_ptr<cmark_parser, ParserFree>;

constexpr int kParseOptions = CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE;
// Safe mode (no CMARK_OPT_UNSAFE) stays on as a second line of defence; every newline breaks.
constexpr int kRenderOptions = CMARK_OPT_HARDBREAKS;

bool is_leaf(cmark_node_type t) {
  switch (t) {
    case CMARK_NODE_HTML_BLOCK:
    case CMARK_NODE_THEMATIC_BREAK:
    case CMARK_NODE_CODE_BLOCK:
    case CMARK_NODE_TEXT:
    case CMARK_NODE_SOFTBREAK:
    case CMARK_NODE_LINEBREAK:
    case CMARK_NODE_CODE:
    case CMARK_NODE_HTML_INLINE:
    case CMARK_NODE_CUSTOM_INLINE:
    case CMARK_NODE_CUSTOM_BLOCK:
      return true;
    default:
      return false;
  }
}

// The most table cells the input could produce, over all its tables: a table has at most as
// many columns as its delimiter row has cells, every row is padded to that width, and a table
// ends at the first blank line at the latest. Cheap, and computed before parsing because the
// parser builds every padded cell.
long long possible_table_cells(std::string_view s) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos <= s.size();) {
    auto nl = s.find('\n', pos);
    lines.push_back(s.substr(pos, nl == std::string_view::npos ? s.npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  auto blank = [](std::string_view l) { return l.find_first_not_of(" \t\r") == l.npos; };
  // run[i]: non-blank lines from line i on (one backward pass keeps this linear).
  std::vector<long long> run(lines.size() + 1, 0);
  for (std::size_t i = lines.size(); i-- > 0;) run[i] = blank(lines[i]) ? 0 : run[i + 1] + 1;
  long long total = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    bool delimiter = line.find('-') != line.npos && line.find('|') != line.npos &&
                     line.find_first_not_of(" \t|:-\r>") == line.npos;
    if (!delimiter) continue;
    long long cols = std::count(line.begin(), line.end(), '|') + 1;
    total += cols * (run[i + 1] + 1);  // the rows below it and the header above
  }
  return total;
}

void move_children_before(cmark_node* from, cmark_node* anchor) {
  while (cmark_node* child = cmark_node_first_child(from)) cmark_node_insert_before(anchor, child);
}

// Raw HTML becomes the text it is: inline as a text node, a block as a paragraph of its lines.
bool html_to_text(cmark_node* n) {
  std::string literal = cmark_node_get_literal(n) ? cmark_node_get_literal(n) : "";
  if (cmark_node_get_type(n) == CMARK_NODE_HTML_INLINE) {
    cmark_node* t = cmark_node_new(CMARK_NODE_TEXT);
    cmark_node_set_literal(t, literal.c_str());
    if (!cmark_node_insert_before(n, t)) return cmark_node_free(t), false;
  } else {
    while (!literal.empty() && (literal.back() == '\n' || literal.back() == '\r')) literal.pop_back();
    cmark_node* p = cmark_node_new(CMARK_NODE_PARAGRAPH);
    std::size_t pos = 0;
    while (true) {
      auto nl = literal.find('\n', pos);
      cmark_node* t = cmark_node_new(CMARK_NODE_TEXT);
      cmark_node_set_literal(t, literal.substr(pos, nl == std::string::npos ? nl : nl - pos).c_str());
      cmark_node_append_child(p, t);
      if (nl == std::string::npos) break;
      cmark_node_append_child(p, cmark_node_new(CMARK_NODE_LINEBREAK));
      pos = nl + 1;
    }
    if (!cmark_node_insert_before(n, p)) return cmark_node_free(p), false;
  }
  cmark_node_unlink(n);
  cmark_node_free(n);
  return true;
}

// A link keeps its href only when allowed_url; otherwise its text stays, unlinked. An image
// becomes a link to its URL (its alt text as the link text), or just its alt text.
bool fix_link(cmark_node* n, bool inside_link) {
  const char* url = cmark_node_get_url(n);
  bool keep = url != nullptr && allowed_url(url) && !inside_link;
  if (cmark_node_get_type(n) == CMARK_NODE_IMAGE && keep) {
    cmark_node* a = cmark_node_new(CMARK_NODE_LINK);
    cmark_node_set_url(a, url);
    std::string title = sanitize(cmark_node_get_title(n) ? cmark_node_get_title(n) : "");
    cmark_node_set_title(a, title.c_str());
    if (!cmark_node_insert_before(n, a)) return cmark_node_free(a), false;
    while (cmark_node* child = cmark_node_first_child(n)) cmark_node_append_child(a, child);
  } else if (keep) {
    const char* title = cmark_node_get_title(n);
    if (title != nullptr && needs_sanitizing(title)) cmark_node_set_title(n, sanitize(title).c_str());
    return true;
  } else {
    move_children_before(n, n);
  }
  cmark_node_unlink(n);
  cmark_node_free(n);
  return true;
}

// Replaces a text node by its runs, emoji and mention slots.
bool expand_text(cmark_node* n, Mentions* mentions) {
  const char* raw = cmark_node_get_literal(n);
  std::string literal = raw ? raw : "";
  bool dirty = needs_sanitizing(literal);
  if (dirty) literal = sanitize(literal);
  bool ok = true;
  bool changed = false;
  std::vector<cmark_node*> parts;
  auto add_text = [&](std::string_view t) {
    cmark_node* x = cmark_node_new(CMARK_NODE_TEXT);
    cmark_node_set_literal(x, std::string(t).c_str());
    parts.push_back(x);
  };
  scan(literal, mentions, add_text,
       [&](std::string_view e) { add_text(e); changed = true; },
       [&](int slot) {
         cmark_node* x = cmark_node_new(CMARK_NODE_CUSTOM_INLINE);
         cmark_node_set_on_enter(x, slot_marker(slot).c_str());
         parts.push_back(x);
         changed = true;
       });
  if (!changed) {
    for (cmark_node* x : parts) cmark_node_free(x);
    if (dirty) cmark_node_set_literal(n, literal.c_str());
    return true;
  }
  for (cmark_node* x : parts) {
    if (ok && cmark_node_insert_before(n, x)) continue;
    ok = false;
    cmark_node_free(x);
  }
  cmark_node_unlink(n);
  cmark_node_free(n);
  return ok;
}

std::once_flag g_extensions_once;

}  // namespace

std::string_view emoji_for(std::string_view shortcode) {
  auto it = std::lower_bound(std::begin(kEmoji), std::end(kEmoji), shortcode,
                             [](const EmojiEntry& e, std::string_view k) { return e.name < k; });
  if (it == std::end(kEmoji) || it->name != shortcode) return {};
  return it->emoji;
}

Renderer::Renderer(Limits limits) : limits_(limits) {
  std::call_once(g_extensions_once, [] { cmark_gfm_core_extensions_ensure_registered(); });
}

Draft Renderer::render(std::string_view body) const {
  Draft d;
  auto fallback = [&] {
    Draft p;
    p.plain = true;
    Mentions m(p, limits_);
    p.html = plain_html(body, m);
    return p;
  };

  // Inputs that would make this cmark-gfm (0.29.0.gfm.6) work quadratically are caught by cheap
  // counts first (docs/protocol.md "Message markup"; the bombs in testdata/hostile_corpus.json).
  // Image openers: every link closed later walks back over all of them.
  std::size_t image_openers = 0, closers = 0, ats = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == ']') ++closers;
    if (body[i] == '@') ++ats;
    if (body[i] == '!' && i + 1 < body.size() && body[i + 1] == '[') ++image_openers;
  }
  if (image_openers * closers > kMaxImageBracketWork) return fallback();
  // The e-mail autolinker scans the text around every '@'.
  const bool autolink = ats * body.size() <= kMaxAutolinkWork;

  ParserPtr parser(cmark_parser_new(kParseOptions));
  for (const char* name : {"strikethrough", "autolink", "table"}) {
    if (std::strcmp(name, "table") == 0 && possible_table_cells(body) > limits_.max_table_cells) {
      continue;  // tables this large are not a chat thing; the text stays text
    }
    if (std::strcmp(name, "autolink") == 0 && !autolink) continue;
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser.get(), ext);
    }
  }
  cmark_parser_feed(parser.get(), body.data(), body.size());
  NodePtr root(cmark_parser_finish(parser.get()));
  if (!root) return fallback();

  // Pass 1: bounds, raw HTML, links and images.
  {
    std::vector<cmark_node*> html;
    std::vector<std::pair<cmark_node*, bool>> links;  // node, inside another link
    int depth = 0, link_depth = 0, cells = 0;
    bool over = false;
    cmark_iter* it = cmark_iter_new(root.get());
    for (cmark_event_type ev; !over && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
      cmark_node* n = cmark_iter_get_node(it);
      cmark_node_type t = cmark_node_get_type(n);
      bool is_link = t == CMARK_NODE_LINK || t == CMARK_NODE_IMAGE;
      if (ev == CMARK_EVENT_EXIT) {
        --depth;
        if (is_link) --link_depth;
        continue;
      }
      if (t == CMARK_NODE_HTML_BLOCK || t == CMARK_NODE_HTML_INLINE) html.push_back(n);
      if (t == CMARK_NODE_CODE_BLOCK) {
        const char* info = cmark_node_get_fence_info(n);
        if (info != nullptr && needs_sanitizing(info)) cmark_node_set_fence_info(n, sanitize(info).c_str());
      }
      if (is_leaf(t)) continue;
      if (++depth > limits_.max_depth + 1) over = true;  // + 1: the document itself
      if (is_link) links.emplace_back(n, link_depth++ > 0);
      const char* type = cmark_node_get_type_string(n);
      if (type != nullptr && std::strcmp(type, "table_cell") == 0 && ++cells > limits_.max_table_cells) {
        over = true;
      }
    }
    cmark_iter_free(it);
    if (over) return fallback();
    for (cmark_node* n : html) {
      if (!html_to_text(n)) return fallback();
    }
    // Innermost first, so an image inside a link is settled before its link moves.
    for (auto i = links.rbegin(); i != links.rend(); ++i) {
      if (!fix_link(i->first, i->second)) return fallback();
    }
  }

  // Pass 2: emoji and mentions in text (code is never text; a link's text gets no mentions).
  cmark_consolidate_text_nodes(root.get());
  {
    Mentions mentions(d, limits_);
    std::vector<std::pair<cmark_node*, bool>> texts;
    int link_depth = 0;
    cmark_iter* it = cmark_iter_new(root.get());
    for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
      cmark_node* n = cmark_iter_get_node(it);
      cmark_node_type t = cmark_node_get_type(n);
      if (t == CMARK_NODE_LINK) link_depth += ev == CMARK_EVENT_ENTER ? 1 : -1;
      if (t == CMARK_NODE_TEXT) texts.emplace_back(n, link_depth > 0);
    }
    cmark_iter_free(it);
    for (auto& [n, in_link] : texts) {
      if (!expand_text(n, in_link ? nullptr : &mentions)) return fallback();
    }
  }

  char* html = cmark_render_html(root.get(), kRenderOptions, cmark_parser_get_syntax_extensions(parser.get()));
  if (html == nullptr) return fallback();
  d.html = html;
  free(html);  // NOLINT: allocated by cmark's default (malloc) allocator
  if (d.html.size() > limits_.max_html_bytes) return fallback();
  // Every \x01 must be one of our slots (defence in depth: sanitising should make it so).
  if (static_cast<std::size_t>(std::count(d.html.begin(), d.html.end(), '\x01')) != d.slots.size()) {
    return fallback();
  }
  return d;
}

std::string finish(const Draft& d, const std::vector<core::Id>& user_ids) {
  std::string out;
  out.reserve(d.html.size() + d.slots.size() * 48);
  std::size_t pos = 0;
  while (pos < d.html.size()) {
    auto open = d.html.find('\x01', pos);
    if (open == std::string::npos) {
      out.append(d.html, pos, std::string::npos);
      break;
    }
    out.append(d.html, pos, open - pos);
    auto close = d.html.find('\x02', open);
    if (close == std::string::npos) break;  // cannot happen: render() wrote both
    std::size_t n = std::stoul(d.html.substr(open + 1, close - open - 1));
    pos = close + 1;
    if (n >= d.slots.size()) continue;
    const MentionSlot& s = d.slots[n];
    switch (s.kind) {
      case MentionSlot::Kind::kRoom:
        out += "<span class=\"mention\" data-mention=\"room\">@" + s.text + "</span>";
        break;
      case MentionSlot::Kind::kHere:
        out += "<span class=\"mention\" data-mention=\"here\">@" + s.text + "</span>";
        break;
      case MentionSlot::Kind::kUser: {
        core::Id id = s.name >= 0 && static_cast<std::size_t>(s.name) < user_ids.size()
                          ? user_ids[static_cast<std::size_t>(s.name)]
                          : 0;
        if (id == 0) {
          out += "@" + s.text;
        } else {
          out += "<span class=\"mention\" data-user-id=\"" + core::id_to_string(id) + "\">@" +
                 s.text + "</span>";
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace parley::render
