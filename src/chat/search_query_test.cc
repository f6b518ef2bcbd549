// The search query language (docs/search.md): what each piece of syntax becomes, and a clear
// refusal for every malformed or pathological query.
#include "chat/search_query.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::chat {
namespace {

using core::Errc;
using store::SearchTerm;
using K = SearchTerm::Kind;

constexpr std::int64_t kDay = 86'400'000;

ParsedSearch ok(std::string_view q, int tz = 0) {
  auto r = parse_search_query(q, tz);
  EXPECT_TRUE(r.ok()) << q << ": " << (r ? "" : r.error().message);
  return r ? *r : ParsedSearch{};
}

std::string refused(std::string_view q, int tz = 0) {
  auto r = parse_search_query(q, tz);
  EXPECT_FALSE(r.ok()) << q << " was accepted";
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << q;
  return r.error().message;
}

bool same(const SearchTerm& t, K kind, const std::string& text, bool exclude = false) {
  return t.kind == kind && t.text == text && t.exclude == exclude;
}

TEST(SearchQuery, WordsPhrasesPrefixesAndExclusions) {
  auto p = ok("  deploy \"exact  phrase\" rel* -draft -\"old plan\" \"tonight re\"*");
  ASSERT_EQ(p.terms.size(), 6u);
  EXPECT_TRUE(same(p.terms[0], K::kWord, "deploy"));
  EXPECT_TRUE(same(p.terms[1], K::kPhrase, "exact  phrase"));
  EXPECT_TRUE(same(p.terms[2], K::kPrefix, "rel"));
  EXPECT_TRUE(same(p.terms[3], K::kWord, "draft", true));
  EXPECT_TRUE(same(p.terms[4], K::kPhrase, "old plan", true));
  EXPECT_TRUE(same(p.terms[5], K::kPrefix, "tonight re"));
}

TEST(SearchQuery, PunctuationAloneIsLeftOutAndSyntaxOfTheIndexIsJustText) {
  auto p = ok("NEAR(a b) AND OR NOT ^start {body}:x - && ( ) 🙂 — «»");
  std::vector<std::string> words;
  for (const auto& t : p.terms) words.push_back(t.text);
  EXPECT_EQ(words, (std::vector<std::string>{"NEAR(a", "b)", "AND", "OR", "NOT", "^start",
                                             "{body}:x"}));
  for (const auto& t : p.terms) EXPECT_FALSE(t.exclude);
  // Unicode letters count as words; a link is a word, not an operator.
  p = ok("café Ελληνικά https://example.org/a?b=c todo:");
  ASSERT_EQ(p.terms.size(), 4u);
  EXPECT_EQ(p.terms[2].text, "https://example.org/a?b=c");
  EXPECT_EQ(p.terms[3].text, "todo:");
}

TEST(SearchQuery, Operators) {
  auto p = ok("from:@Alice from:bob from:me in:#general in:ops in:@carol in:#\"big team\" "
              "in:\"#x y\" has:link has:FILE has:image mentions:me is:thread report");
  EXPECT_EQ(p.from, (std::vector<std::string>{"alice", "bob", "me"}));
  EXPECT_EQ(p.in_groups, (std::vector<std::string>{"general", "ops", "big team", "x y"}));
  EXPECT_EQ(p.in_dms, (std::vector<std::string>{"carol"}));
  EXPECT_TRUE(p.has_link && p.has_file && p.has_image && p.mentions_me && p.is_thread);
  ASSERT_EQ(p.terms.size(), 1u);
  EXPECT_EQ(p.terms[0].text, "report");
  // Filters alone are a query; "@me" is a user called me, "me" is the searcher.
  p = ok("from:@me");
  EXPECT_EQ(p.from, (std::vector<std::string>{"me"}));
  EXPECT_TRUE(p.terms.empty());
}

TEST(SearchQuery, DatesAreDaysAndMonthsInTheClientsZone) {
  const std::int64_t jan31 = days_from_civil(2026, 1, 31) * kDay;
  EXPECT_EQ(jan31, 1'769'817'600'000);  // 2026-01-31T00:00:00Z
  auto p = ok("before:2026-01-31");
  EXPECT_EQ(p.before, jan31);
  EXPECT_EQ(p.after, 0);
  p = ok("after:2026-01-31");  // after the day: from the next midnight
  EXPECT_EQ(p.after, jan31 + kDay);
  p = ok("on:2026-01-31");
  EXPECT_EQ(p.after, jan31);
  EXPECT_EQ(p.before, jan31 + kDay);
  p = ok("during:2026-02");
  EXPECT_EQ(p.after, days_from_civil(2026, 2, 1) * kDay);
  EXPECT_EQ(p.before, days_from_civil(2026, 3, 1) * kDay);
  p = ok("during:2026-12");
  EXPECT_EQ(p.before, days_from_civil(2027, 1, 1) * kDay);
  p = ok("during:2024-02-29");  // a leap day
  EXPECT_EQ(p.before, days_from_civil(2024, 3, 1) * kDay);
  p = ok("during:2026");
  EXPECT_EQ(p.after, days_from_civil(2026, 1, 1) * kDay);
  EXPECT_EQ(p.before, days_from_civil(2027, 1, 1) * kDay);
  // Several bounds narrow each other.
  p = ok("during:2026-01 after:2026-01-09 before:2026-03-01");
  EXPECT_EQ(p.after, days_from_civil(2026, 1, 10) * kDay);
  EXPECT_EQ(p.before, days_from_civil(2026, 2, 1) * kDay);
  // UTC+2: local midnight is two hours earlier in UTC.
  p = ok("before:2026-01-31", 120);
  EXPECT_EQ(p.before, jan31 - 2 * 3'600'000);
}

TEST(SearchQuery, MalformedQueriesAreRefusedWithAReason) {
  EXPECT_NE(refused("\"unbalanced phrase").find("unbalanced quote"), std::string::npos);
  EXPECT_NE(refused("word\"").find("unbalanced quote"), std::string::npos);
  EXPECT_NE(refused("in:#\"team").find("unbalanced quote"), std::string::npos);
  EXPECT_NE(refused("*").find("prefix"), std::string::npos);
  EXPECT_NE(refused("a*").find("prefix"), std::string::npos);
  EXPECT_NE(refused("x**").find("prefix"), std::string::npos);
  EXPECT_NE(refused("foo-b*").find("prefix"), std::string::npos);
  EXPECT_NE(refused("\"ab c\"*").find("prefix"), std::string::npos);
  EXPECT_NE(refused("body:secret").find("unknown operator body:"), std::string::npos);
  EXPECT_NE(refused("form:@alice").find("unknown operator form:"), std::string::npos);
  EXPECT_NE(refused("-from:@alice x").find("cannot be negated"), std::string::npos);
  EXPECT_NE(refused("from: x").find("needs a value"), std::string::npos);
  EXPECT_NE(refused("in:# x").find("needs a value"), std::string::npos);
  EXPECT_NE(refused("from:@a!ice").find("not a username"), std::string::npos);
  EXPECT_NE(refused("in:@x").find("not a username"), std::string::npos);
  EXPECT_NE(refused("has:cats").find("has: takes"), std::string::npos);
  EXPECT_NE(refused("mentions:bob").find("mentions: takes me"), std::string::npos);
  EXPECT_NE(refused("is:open").find("is: takes thread"), std::string::npos);
  for (const char* d : {"before:2026-13-01", "before:2026-02-30", "before:2025-02-29",
                        "after:yesterday", "before:2026-01", "on:2026", "during:26-01",
                        "before:1969-12-31", "during:2026-1", "before:2026-01-31x"}) {
    EXPECT_NE(refused(d).find("expects a date"), std::string::npos) << d;
  }
  EXPECT_NE(refused("after:2026-02-01 before:2026-02-01").find("no time"), std::string::npos);
  EXPECT_NE(refused("").find("nothing to search for"), std::string::npos);
  EXPECT_NE(refused("   \t ").find("nothing to search for"), std::string::npos);
  EXPECT_NE(refused("&& ()").find("nothing to search for"), std::string::npos);
  EXPECT_NE(refused("-draft -old").find("-exclusions need"), std::string::npos);
  EXPECT_FALSE(refused("bad\x01" "control").empty());
  EXPECT_FALSE(refused("\xff\xfe").empty());
  auto r = parse_search_query("x", 900);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("tz_offset"), std::string::npos);
}

TEST(SearchQuery, FileThreadAndMentionOperatorsAreFiltersOfTheirOwn) {
  // Each is a query alone (no word needed), case-insensitive, and combines with words.
  EXPECT_TRUE(ok("has:file").has_file);
  EXPECT_TRUE(ok("HAS:Image").has_image);
  EXPECT_TRUE(ok("is:THREAD").is_thread);
  EXPECT_TRUE(ok("mentions:@me").mentions_me);
  auto p = ok("budget has:file -draft");
  EXPECT_TRUE(p.has_file && !p.has_image);
  ASSERT_EQ(p.terms.size(), 2u);
  EXPECT_TRUE(p.terms[1].exclude);
  // Only the documented values; never negated.
  EXPECT_NE(refused("has:files").find("has: takes link, file or image"), std::string::npos);
  EXPECT_NE(refused("has:").find("needs a value"), std::string::npos);
  EXPECT_NE(refused("is:threads").find("is: takes thread"), std::string::npos);
  EXPECT_NE(refused("mentions:").find("needs a value"), std::string::npos);
  EXPECT_NE(refused("-has:file x").find("cannot be negated"), std::string::npos);
  EXPECT_NE(refused("-is:thread x").find("cannot be negated"), std::string::npos);
  EXPECT_NE(refused("-mentions:me x").find("cannot be negated"), std::string::npos);
  // An operator-looking word that is not one stays an error, so a typo never becomes a word.
  EXPECT_NE(refused("file:report.pdf").find("unknown operator file:"), std::string::npos);
}

TEST(SearchQuery, PathologicalSizesHaveDocumentedBounds) {
  std::string many;
  for (std::size_t i = 0; i < kMaxSearchItems; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(ok(many).terms.size(), kMaxSearchItems);
  EXPECT_NE(refused(many + "one-more").find("too many terms"), std::string::npos);
  std::string thousands;
  for (int i = 0; i < 3000; ++i) thousands += "a ";
  EXPECT_NE(refused(thousands).find("longer than"), std::string::npos);
  EXPECT_NE(refused(std::string(kMaxSearchQueryBytes + 1, 'x')).find("longer than"),
            std::string::npos);
  EXPECT_EQ(ok(std::string(kMaxSearchQueryBytes, 'x')).terms.size(), 1u);
}

}  // namespace
}  // namespace parley::chat
