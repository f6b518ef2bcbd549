// render/render.h: turns a message body (Markdown as people type it in chat) into the HTML that
// is stored and sent beside it. cmark-gfm in safe mode plus Parley's own rules:
//  - GFM strikethrough (~~only double tildes~~), autolinks and tables; no task lists (no form
//    elements in message HTML); a newline is a line break, as in every chat.
//  - No raw HTML: HTML in the source is shown as the text it is (never dropped, never active).
//  - Links only to absolute http:, https: and mailto: URLs; any other link (javascript:, data:,
//    vbscript:, file:, relative ...) loses its href and stays as its text. Images are never
//    embedded (a remote image would tell its host who reads the room): an image with an allowed
//    URL becomes a link to it, otherwise its alt text.
//  - :shortcode: emoji (GitHub and Slack names, emoji_table.inc) outside code; unknown ones stay.
//  - @username, @room and @here outside code and links become mention slots; the store resolves
//    the usernames inside the storing transaction and finish() fills the slots in.
//
// Bounds (render work is linear in the input and capped, so a 16 KiB body cannot stall the
// thread that renders it; docs/protocol.md "Message markup"): nesting depth, table cells and
// output size (Limits). Over any of them the whole message falls back to plain text: its source
// escaped, line breaks kept, emoji and mentions still applied (Draft::plain). A table whose
// possible size is over the cell bound is not parsed as a table at all (it stays text). Two
// input shapes that make cmark-gfm 0.29.0.gfm.6 quadratic are caught by counting first: many
// image openers ("![") before many closing brackets (plain text), and many '@' in a long body
// (bare URLs and e-mail addresses are then not auto-linked; explicit links still are).
//
// Thread safety: a Renderer is immutable after construction; render() and finish() may run on
// any number of threads at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/id.h"

namespace parley::render {

struct Limits {
  int max_depth = 16;                   // nested blocks and inlines (quotes, lists, emphasis ...)
  int max_table_cells = 2000;           // cells over all tables of one message
  std::size_t max_html_bytes = 96 * 1024;  // rendered output (before mentions are filled in)
  int max_usernames = 20;               // distinct @usernames per message; later ones stay text
  int max_mention_slots = 200;          // mentions per message (repeats included); later: text
};

// A mention in the rendered HTML, resolved later.
struct MentionSlot {
  enum class Kind { kUser, kRoom, kHere };
  Kind kind = Kind::kUser;
  int name = -1;      // kUser: index into Draft::usernames
  std::string text;   // as typed, without '@' (letters, digits, '.', '_', '-' only)
};

// The rendering of a body before its mentions are resolved.
struct Draft {
  std::string html;                    // slot n appears as "\x01" n "\x02" (never in other text)
  std::vector<MentionSlot> slots;
  std::vector<std::string> usernames;  // distinct, lower case, in order of first appearance
  bool mentions_room = false;          // the body says @room
  bool mentions_here = false;          // the body says @here
  bool plain = false;                  // over a bound: the escaped-text fallback
};

class Renderer {
 public:
  explicit Renderer(Limits limits = {});
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Any valid UTF-8 input (core::validate_body has run); never fails.
  Draft render(std::string_view body) const;
  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
};

// The final HTML: each username slot whose id (user_ids is parallel to d.usernames; 0 = no
// such user) is known becomes <span class="mention" data-user-id="ID">@text</span>, an unknown
// one plain "@text"; @room and @here become <span class="mention" data-mention="room|here">.
std::string finish(const Draft& d, const std::vector<core::Id>& user_ids);

// The emoji for a shortcode without colons ("tada"), or "" when unknown. For tests and tools.
std::string_view emoji_for(std::string_view shortcode);

}  // namespace parley::render
