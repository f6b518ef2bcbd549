#include "render/render.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace parley::render {
namespace {

namespace json = boost::json;

std::string render_all_known(const Renderer& r, std::string_view body) {
  Draft d = r.render(body);
  std::vector<core::Id> ids;
  for (std::size_t i = 0; i < d.usernames.size(); ++i) ids.push_back(100 + i);
  return finish(d, ids);
}

std::string html(std::string_view body) {
  static const Renderer r;
  return render_all_known(r, body);
}

// --- what the output may contain: these tags, these attributes, these URLs. Every '<' in the
// output opens one of our tags (text '<' is always &lt;), so a scan of the tags sees them all.
struct Tag {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;
};

std::vector<Tag> tags_of(const std::string& h, std::string* problem) {
  std::vector<Tag> out;
  std::size_t i = 0;
  while ((i = h.find('<', i)) != std::string::npos) {
    auto end = h.find('>', i);
    if (end == std::string::npos) {
      *problem = "unterminated tag";
      return out;
    }
    std::string inner = h.substr(i + 1, end - i - 1);
    i = end + 1;
    if (!inner.empty() && inner[0] == '/') continue;
    if (!inner.empty() && inner.back() == '/') inner.pop_back();
    Tag t;
    std::size_t p = 0;
    while (p < inner.size() && std::isalnum(static_cast<unsigned char>(inner[p]))) t.name += inner[p++];
    while (p < inner.size()) {
      while (p < inner.size() && inner[p] == ' ') ++p;
      if (p >= inner.size()) break;
      std::string name;
      while (p < inner.size() && inner[p] != '=' && inner[p] != ' ') name += inner[p++];
      std::string value;
      if (p < inner.size() && inner[p] == '=') {
        ++p;
        if (p >= inner.size() || inner[p] != '"') {
          *problem = "unquoted attribute " + name;
          return out;
        }
        auto close = inner.find('"', p + 1);
        if (close == std::string::npos) {
          *problem = "unterminated attribute " + name;
          return out;
        }
        value = inner.substr(p + 1, close - p - 1);
        p = close + 1;
      }
      t.attrs.emplace_back(name, value);
    }
    out.push_back(std::move(t));
  }
  return out;
}

// "" when the HTML is safe, else what is wrong.
std::string unsafe(const std::string& h) {
  static const std::set<std::string> kTags = {
      "p", "br", "em", "strong", "del", "a", "code", "pre", "blockquote", "ul", "ol", "li", "h1",
      "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "span"};
  static const std::set<std::string> kAttrs = {"href", "title", "class", "data-user-id",
                                               "data-mention", "start", "align"};
  std::string problem;
  for (const Tag& t : tags_of(h, &problem)) {
    if (!kTags.count(t.name)) return "tag <" + t.name + ">";
    for (const auto& [name, value] : t.attrs) {
      if (!kAttrs.count(name)) return "attribute " + name + " on <" + t.name + ">";
      if (name == "href" && !(value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0 ||
                              value.rfind("mailto:", 0) == 0)) {
        return "href " + value;
      }
    }
  }
  if (!problem.empty()) return problem;
  std::string lower = h;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("<script") != std::string::npos) return "<script";
  // Attribute values are quoted and escaped: look for handlers outside them.
  std::string outside = std::regex_replace(lower, std::regex(R"("[^"]*")"), "\"\"");
  if (std::regex_search(outside, std::regex(R"(<[^>]*\son[a-z]+\s*=)"))) return "on*= attribute";
  if (std::regex_search(lower, std::regex(R"(href="\s*(javascript|vbscript|data|file):)"))) {
    return "dangerous href";
  }
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t') return "control character";
  }
  return "";
}

struct Case {
  std::string name;
  std::string body;
  bool bomb = false;
};

std::vector<Case> corpus() {
  std::ifstream in(PARLEY_RENDER_CORPUS);
  std::stringstream ss;
  ss << in.rdbuf();
  json::value doc = json::parse(ss.str());
  std::vector<Case> out;
  for (const json::value& v : doc.at("entries").as_array()) {
    const json::object& o = v.as_object();
    Case c;
    c.name = std::string(o.at("name").as_string());
    if (const json::value* b = o.if_contains("body")) {
      c.body = std::string(b->as_string());
    } else {
      c.bomb = true;
      auto str = [&](const char* k) {
        const json::value* x = o.if_contains(k);
        return x ? std::string(x->as_string()) : std::string();
      };
      std::string unit = str("unit");
      c.body = str("prefix");
      for (std::int64_t i = 0; i < o.at("times").to_number<std::int64_t>(); ++i) c.body += unit;
      c.body += str("suffix");
      if (c.body.size() > 16384) {
        std::size_t n = 16384;
        while (n > 0 && (static_cast<unsigned char>(c.body[n]) & 0xc0) == 0x80) --n;
        c.body.resize(n);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

TEST(RenderTest, OrdinaryMarkdown) {
  EXPECT_EQ(html("hello *world*"), "<p>hello <em>world</em></p>\n");
  EXPECT_EQ(html("**bold** and ~~gone~~ and `x < y`"),
            "<p><strong>bold</strong> and <del>gone</del> and <code>x &lt; y</code></p>\n");
  EXPECT_EQ(html("line one\nline two"), "<p>line one<br />\nline two</p>\n");
  EXPECT_EQ(html("- a\n- b"), "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
  EXPECT_EQ(html("> quoted"), "<blockquote>\n<p>quoted</p>\n</blockquote>\n");
  EXPECT_EQ(html("```\ncode *here*\n```"), "<pre><code>code *here*\n</code></pre>\n");
  EXPECT_EQ(html("[site](https://example.com/a?b=1&c=2)"),
            "<p><a href=\"https://example.com/a?b=1&amp;c=2\">site</a></p>\n");
  EXPECT_EQ(html("see https://example.com now"),
            "<p>see <a href=\"https://example.com\">https://example.com</a> now</p>\n");
  EXPECT_EQ(html("~one tilde~ stays"), "<p>~one tilde~ stays</p>\n");
  EXPECT_EQ(html("| a | b |\n|---|---|\n| 1 | 2 |"),
            "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
            "<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n");
  EXPECT_EQ(html("- [ ] no task lists"), "<ul>\n<li>[ ] no task lists</li>\n</ul>\n");
}

TEST(RenderTest, RawHtmlIsShownAsText) {
  EXPECT_EQ(html("a <b>bold</b> tag"), "<p>a &lt;b&gt;bold&lt;/b&gt; tag</p>\n");
  EXPECT_EQ(html("<div>\nblock\n</div>"), "<p>&lt;div&gt;<br />\nblock<br />\n&lt;/div&gt;</p>\n");
}

TEST(RenderTest, OnlyWebAndMailLinksKeepTheirHref) {
  EXPECT_EQ(html("[x](javascript:alert(1))"), "<p>x</p>\n");
  EXPECT_EQ(html("[x](/relative)"), "<p>x</p>\n");
  EXPECT_EQ(html("<mailto:a@example.com>"),
            "<p><a href=\"mailto:a@example.com\">mailto:a@example.com</a></p>\n");
  EXPECT_EQ(html("![cat](https://example.com/cat.png \"t\")"),
            "<p><a href=\"https://example.com/cat.png\" title=\"t\">cat</a></p>\n");
  EXPECT_EQ(html("![cat](data:image/png;base64,AAAA)"), "<p>cat</p>\n");
}

TEST(RenderTest, ShortcodesOutsideCode) {
  EXPECT_EQ(emoji_for("tada"), "\xf0\x9f\x8e\x89");
  EXPECT_EQ(emoji_for("no_such_emoji"), "");
  EXPECT_EQ(html(":tada: done :+1:"), "<p>\xf0\x9f\x8e\x89 done \xf0\x9f\x91\x8d\xef\xb8\x8f</p>\n");
  EXPECT_EQ(html(":nope: stays"), "<p>:nope: stays</p>\n");
  EXPECT_EQ(html("`:tada:`"), "<p><code>:tada:</code></p>\n");
  EXPECT_EQ(html("at 10:30:45"), "<p>at 10:30:45</p>\n");
  EXPECT_EQ(html(":x:tada:"), "<p>\xe2\x9d\x8c\xef\xb8\x8f" "tada:</p>\n");
}

TEST(RenderTest, MentionsBecomeSlotsResolvedByFinish) {
  Renderer r;
  Draft d = r.render("hi @Alice and @bob, also @alice. cc @room `@carol` [@dave](https://x.example)");
  ASSERT_FALSE(d.plain);
  EXPECT_EQ(d.usernames, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(d.mentions_room);
  EXPECT_FALSE(d.mentions_here);
  ASSERT_EQ(d.slots.size(), 4u);
  EXPECT_EQ(finish(d, {7, 0}),
            "<p>hi <span class=\"mention\" data-user-id=\"7\">@Alice</span> and @bob, also "
            "<span class=\"mention\" data-user-id=\"7\">@alice</span>. cc "
            "<span class=\"mention\" data-mention=\"room\">@room</span> <code>@carol</code> "
            "<a href=\"https://x.example\">@dave</a></p>\n");
}

TEST(RenderTest, WhatIsNotAMention) {
  Renderer r;
  for (const char* body : {"mail bob@example.com", "a@b", "@a", "@_x", "@" "abcdefghijklmnopqrstuvwxyz0123456789",
                           "x@@alice", "`@alice`", "```\n@alice\n```"}) {
    Draft d = r.render(body);
    EXPECT_TRUE(d.usernames.empty()) << body;
  }
}

TEST(RenderTest, MentionsAreBounded) {
  Limits l;
  l.max_usernames = 3;
  Renderer r(l);
  Draft d = r.render("@u1 @u2 @u3 @u4 @u1");
  EXPECT_EQ(d.usernames.size(), 3u);
  EXPECT_EQ(finish(d, {1, 2, 3}).find("@u4</span>"), std::string::npos);
  EXPECT_NE(finish(d, {1, 2, 3}).find("data-user-id=\"1\">@u1</span></p>"), std::string::npos);
}

TEST(RenderTest, BeyondTheBoundsFallsBackToPlainText) {
  Renderer r;
  std::string deep(100, '>');
  Draft d = r.render(deep + " deep @alice :tada:\nnext <b>");
  EXPECT_TRUE(d.plain);
  std::string quotes;
  for (int i = 0; i < 100; ++i) quotes += "&gt;";
  EXPECT_EQ(finish(d, {5}), "<p>" + quotes +
                                " deep <span class=\"mention\" data-user-id=\"5\">@alice</span> "
                                "\xf0\x9f\x8e\x89<br />\nnext &lt;b&gt;</p>\n");
  Limits small;
  small.max_html_bytes = 20;
  EXPECT_TRUE(Renderer(small).render("a long enough *message* to overflow").plain);
}

TEST(RenderTest, LargeTablesStayText) {
  std::string t = "|a|b|\n|-|-|\n";
  for (int i = 0; i < 1500; ++i) t += "|1|2|\n";
  Draft d = Renderer().render(t);
  EXPECT_EQ(d.html.find("<table>"), std::string::npos);
  EXPECT_EQ(unsafe(d.html), "");
}

TEST(RenderTest, HostileCorpusRendersSafely) {
  Renderer r;
  std::vector<Case> cases = corpus();
  ASSERT_GT(cases.size(), 150u);
  for (const Case& c : cases) {
    std::string h = render_all_known(r, c.body);
    EXPECT_EQ(unsafe(h), "") << c.name << "\n" << h.substr(0, 400);
    EXPECT_LE(h.size(), r.limits().max_html_bytes + 64 * 200) << c.name;
  }
}

TEST(RenderTest, HostileLinksNeverKeepAnHref) {
  for (const Case& c : corpus()) {
    if (c.name.find("javascript") == std::string::npos && c.name.find("data:") == std::string::npos &&
        c.name.find("vbscript") == std::string::npos) {
      continue;
    }
    std::string h = html(c.body);
    EXPECT_EQ(h.find("href"), std::string::npos) << c.name << "\n" << h;
  }
}

TEST(RenderTest, BombsAreCheap) {
  // Generous for sanitizer and debug builds; a release build needs well under 5 ms per bomb
  // (docs/benchmarks.md).
  Renderer r;
  for (const Case& c : corpus()) {
    if (!c.bomb) continue;
    auto t0 = std::chrono::steady_clock::now();
    std::string h = render_all_known(r, c.body);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    EXPECT_LT(ms.count(), 250) << c.name;
  }
}

}  // namespace
}  // namespace parley::render
