// store/conformance/search_conformance.cc: Store::search (issue 4), part of the conformance
// suite every backend runs: what a searcher may find (membership now and in the past, deletes,
// edits), each term kind and filter, ordering, paging, and user text that looks like the query
// syntax of some backend.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "store/conformance/store_conformance.h"

namespace parley::store::conformance {

using core::Errc;
using core::Id;
using core::Result;

namespace {

SearchTerm word(std::string text, bool exclude = false) {
  return SearchTerm{SearchTerm::Kind::kWord, std::move(text), exclude};
}
SearchTerm phrase(std::string text) {
  return SearchTerm{SearchTerm::Kind::kPhrase, std::move(text), false};
}
SearchTerm prefix(std::string text) {
  return SearchTerm{SearchTerm::Kind::kPrefix, std::move(text), false};
}

Result<std::vector<SearchHit>> run(Store& s, const SearchQuery& q) {
  return call<std::vector<SearchHit>>([&](auto done) { s.search(q, std::move(done)); });
}

std::multiset<std::string> bodies(const std::vector<SearchHit>& hits) {
  std::multiset<std::string> out;
  for (const auto& h : hits) out.insert(h.message.body);
  return out;
}

// Bodies `user` finds with `q` (user and limit filled in), or a test failure.
std::multiset<std::string> found(Store& s, const core::User& user, SearchQuery q) {
  q.user_id = user.id;
  q.limit = kMaxSearchLimit;
  auto r = run(s, q);
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
  return r ? bodies(*r) : std::multiset<std::string>{};
}

std::multiset<std::string> found(Store& s, const core::User& user, std::vector<SearchTerm> terms) {
  SearchQuery q;
  q.terms = std::move(terms);
  return found(s, user, std::move(q));
}

using Bodies = std::multiset<std::string>;

}  // namespace

TEST_P(StoreConformance, SearchFindsWordsPhrasesAndPrefixes) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto r = make_group(alice, {bob});
  ASSERT_TRUE(send(r, alice, "Deploy the Café release tonight").ok());
  ASSERT_TRUE(send(r, bob, "the release is deployed").ok());
  ASSERT_TRUE(send(r, bob, "tonight we release nothing").ok());
  ASSERT_TRUE(send(r, alice, "unrelated chatter").ok());

  // Words: case and accents folded; several words must all appear, anywhere.
  EXPECT_EQ(found(store(), bob, {word("cafe")}), Bodies({"Deploy the Café release tonight"}));
  EXPECT_EQ(found(store(), bob, {word("RELEASE"), word("tonight")}),
            Bodies({"Deploy the Café release tonight", "tonight we release nothing"}));
  // A phrase: those words, adjacent, in that order.
  EXPECT_EQ(found(store(), bob, {phrase("release tonight")}),
            Bodies({"Deploy the Café release tonight"}));
  EXPECT_EQ(found(store(), bob, {phrase("tonight release")}), Bodies{});
  // A prefix.
  EXPECT_EQ(found(store(), bob, {prefix("deplo")}),
            Bodies({"Deploy the Café release tonight", "the release is deployed"}));
  EXPECT_EQ(found(store(), bob, {word("deplo")}), Bodies{});
  // Exclusion.
  EXPECT_EQ(found(store(), bob, {word("release"), word("nothing", true), word("cafe", true)}),
            Bodies({"the release is deployed"}));
}

TEST_P(StoreConformance, SearchHitsCarryRoomContextAndHighlightedSnippet) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto g = make_group(alice, {bob}, "Ops Team");
  auto sent = send(g, bob, "the <b>deploy</b> failed again");
  ASSERT_TRUE(sent.ok());
  SearchQuery q;
  q.user_id = alice.id;
  q.terms = {word("deploy")};
  auto r = run(store(), q);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const SearchHit& h = r->front();
  EXPECT_EQ(h.message.id, sent->event.message->id);
  EXPECT_EQ(h.message.room_id, g.id);
  EXPECT_EQ(h.message.seq, sent->event.seq);
  EXPECT_EQ(h.message.sender_id, bob.id);
  EXPECT_EQ(h.room_kind, core::RoomKind::kGroup);
  EXPECT_EQ(h.room_name, "Ops Team");
  // The snippet is plain text (markup untouched: escaping is the caller's job) with marks.
  EXPECT_NE(h.snippet.find(std::string(1, kSnippetMatchBegin) + "deploy" + kSnippetMatchEnd),
            std::string::npos)
      << h.snippet;
  EXPECT_NE(h.snippet.find("<b>"), std::string::npos);
}

TEST_P(StoreConformance, SearchOnlyFindsWhatTheSearcherMayRead) {
  auto alice = make_user("alice"), bob = make_user("bob"), eve = make_user("eve");
  auto g = make_group(alice, {bob});
  auto dm = make_dm(alice, bob);
  ASSERT_TRUE(send(g, alice, "secret plan in the group").ok());
  ASSERT_TRUE(send(dm, bob, "secret plan in the dm").ok());
  EXPECT_EQ(found(store(), alice, {word("secret")}).size(), 2u);
  EXPECT_EQ(found(store(), bob, {word("secret")}).size(), 2u);
  // Never a member: nothing, not even with filters only.
  EXPECT_EQ(found(store(), eve, {word("secret")}), Bodies{});
  SearchQuery filters_only;
  filters_only.from = {alice.id, bob.id};
  EXPECT_EQ(found(store(), eve, filters_only), Bodies{});
}

TEST_P(StoreConformance, SearchAfterLeavingFindsOnlyMessagesUpToTheLeave) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto g = make_group(alice, {bob});
  ASSERT_TRUE(send(g, alice, "budget draft one").ok());
  ASSERT_TRUE(send(g, bob, "budget draft two").ok());
  auto left = call<core::RoomEvent>(
      [&](auto done) { store().remove_member(g.id, bob.id, bob.id, tick(), std::move(done)); });
  ASSERT_TRUE(left.ok());
  ASSERT_TRUE(send(g, alice, "budget final after bob left").ok());
  EXPECT_EQ(found(store(), bob, {word("budget")}), Bodies({"budget draft one", "budget draft two"}));
  EXPECT_EQ(found(store(), alice, {word("budget")}).size(), 3u);
  SearchQuery recent;
  recent.from = {alice.id};
  recent.order = SearchOrder::kRecent;
  EXPECT_EQ(found(store(), bob, recent), Bodies({"budget draft one"}));

  // Back in the room: everything again.
  auto joined = call<core::RoomEvent>([&](auto done) {
    store().add_member(g.id, bob.id, core::MemberRole::kMember, alice.id, tick(), std::move(done));
  });
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(found(store(), bob, {word("budget")}).size(), 3u);
  // Removed by someone else: the same rule as leaving.
  auto removed = call<core::RoomEvent>([&](auto done) {
    store().remove_member(g.id, bob.id, alice.id, tick(), std::move(done));
  });
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE(send(g, alice, "budget after the removal").ok());
  EXPECT_EQ(found(store(), bob, {word("budget")}).size(), 3u);
  EXPECT_EQ(found(store(), bob, {word("removal")}), Bodies{});
}

TEST_P(StoreConformance, SearchSeesEditsAndDeletesAtOnce) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto g = make_group(alice, {bob});
  auto a = send(g, alice, "meeting moved to tuesday");
  auto b = send(g, alice, "meeting notes attached");
  ASSERT_TRUE(a.ok() && b.ok());
  Id a_id = a->event.message->id, b_id = b->event.message->id;
  auto edited = call<core::RoomEvent>([&](auto done) {
    store().edit_message(g.id, a_id, alice.id, "meeting moved to thursday", alice.id, tick(),
                         std::move(done));
  });
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(found(store(), bob, {word("tuesday")}), Bodies{});
  EXPECT_EQ(found(store(), bob, {word("thursday")}), Bodies({"meeting moved to thursday"}));
  auto deleted = call<core::RoomEvent>([&](auto done) {
    store().delete_message(g.id, b_id, alice.id, alice.id, tick(), std::move(done));
  });
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(found(store(), bob, {word("notes")}), Bodies{});
  EXPECT_EQ(found(store(), bob, {word("meeting")}), Bodies({"meeting moved to thursday"}));
  // Filters alone never surface a tombstone either.
  SearchQuery by_alice;
  by_alice.from = {alice.id};
  EXPECT_EQ(found(store(), bob, by_alice), Bodies({"meeting moved to thursday"}));
}

TEST_P(StoreConformance, SearchFiltersBySenderRoomLinkAndDate) {
  auto alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol");
  auto eng = make_group(alice, {bob, carol}, "Engineering");
  auto ops = make_group(alice, {bob}, "ops");
  auto dm_ab = make_dm(alice, bob);
  auto dm_ac = make_dm(alice, carol);
  ASSERT_TRUE(send(eng, bob, "report from eng https://example.org/x").ok());
  const std::int64_t mid = tick();
  ASSERT_TRUE(send(ops, alice, "report from ops").ok());
  ASSERT_TRUE(send(dm_ab, bob, "report in the bob dm http://example.org").ok());
  ASSERT_TRUE(send(dm_ac, carol, "report in the carol dm").ok());

  SearchQuery q;
  q.terms = {word("report")};
  EXPECT_EQ(found(store(), alice, q).size(), 4u);

  SearchQuery from = q;
  from.from = {bob.id};
  EXPECT_EQ(found(store(), alice, from),
            Bodies({"report from eng https://example.org/x", "report in the bob dm http://example.org"}));
  from.from = {bob.id, carol.id};
  EXPECT_EQ(found(store(), alice, from).size(), 3u);

  SearchQuery in = q;
  in.in_groups = {"engineering"};  // names match ASCII case-insensitively
  EXPECT_EQ(found(store(), alice, in), Bodies({"report from eng https://example.org/x"}));
  in.in_dms_with = {carol.id};  // several in: values: any of them
  EXPECT_EQ(found(store(), alice, in),
            Bodies({"report from eng https://example.org/x", "report in the carol dm"}));
  SearchQuery dm_only = q;
  dm_only.in_dms_with = {bob.id};
  EXPECT_EQ(found(store(), alice, dm_only), Bodies({"report in the bob dm http://example.org"}));
  // Bob's "DM with carol" does not exist: nothing (and never alice's DM with carol).
  dm_only.in_dms_with = {carol.id};
  EXPECT_EQ(found(store(), bob, dm_only), Bodies{});
  SearchQuery unknown_room = q;
  unknown_room.in_groups = {"nope"};
  EXPECT_EQ(found(store(), alice, unknown_room), Bodies{});

  SearchQuery links = q;
  links.has_link = true;
  EXPECT_EQ(found(store(), alice, links).size(), 2u);

  SearchQuery before = q;
  before.before = mid;
  EXPECT_EQ(found(store(), alice, before), Bodies({"report from eng https://example.org/x"}));
  SearchQuery after = q;
  after.after = mid;
  EXPECT_EQ(found(store(), alice, after).size(), 3u);

  // Filters without a term.
  SearchQuery filters;
  filters.from = {alice.id};
  filters.in_groups = {"OPS"};
  EXPECT_EQ(found(store(), alice, filters), Bodies({"report from ops"}));
  // Only exclusions, narrowed by a filter.
  SearchQuery minus;
  minus.terms = {word("dm", true)};
  minus.after = mid;
  EXPECT_EQ(found(store(), alice, minus), Bodies({"report from ops"}));
}

TEST_P(StoreConformance, SearchOrdersAndPagesWithoutGapsOrRepeats) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto g = make_group(alice, {bob});
  std::vector<Id> ids;
  for (int i = 0; i < 23; ++i) {
    std::string body = "status update " + std::to_string(i);
    if (i % 5 == 0) body += " status status";  // some match better than others
    ids.push_back(send(g, alice, body)->event.message->id);
  }
  ASSERT_TRUE(send(g, alice, "no match here").ok());

  for (SearchOrder order : {SearchOrder::kRelevance, SearchOrder::kRecent}) {
    SearchQuery q;
    q.user_id = bob.id;
    q.terms = {word("status")};
    q.order = order;
    q.limit = 5;
    std::vector<SearchHit> all;
    for (int page = 0; page < 10; ++page) {
      auto r = run(store(), q);
      ASSERT_TRUE(r.ok()) << r.error().message;
      all.insert(all.end(), r->begin(), r->end());
      if (r->size() < 5u) break;
      q.cursor = SearchCursor{r->back().score, r->back().message.id};
    }
    ASSERT_EQ(all.size(), ids.size()) << "order " << static_cast<int>(order);
    std::set<Id> seen;
    for (const auto& h : all) EXPECT_TRUE(seen.insert(h.message.id).second) << "repeated hit";
    if (order == SearchOrder::kRecent) {
      for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].message.id, ids[ids.size() - 1 - i]);
      }
    } else {
      // Best first (lower bm25 score), newest first among equals; the messages that say
      // "status" three times rank above the others.
      for (std::size_t i = 1; i < all.size(); ++i) {
        EXPECT_TRUE(all[i - 1].score < all[i].score ||
                    (all[i - 1].score == all[i].score &&
                     all[i - 1].message.id > all[i].message.id));
      }
      for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_NE(all[i].message.body.find("status status"), std::string::npos);
      }
    }
  }
}

TEST_P(StoreConformance, SearchTreatsQuerySyntaxInTermsAsText) {
  auto alice = make_user("alice");
  auto g = make_group(alice, {});
  ASSERT_TRUE(send(g, alice, "near the body of water").ok());
  ASSERT_TRUE(send(g, alice, "say \"hi\" or not").ok());
  // Text that is FTS5 or tsquery syntax elsewhere: quoted, so at worst it matches nothing.
  for (const std::string t :
       {"NEAR(body water)", "body:water", "^near", "\"", "hi\" OR \"water", "*", "(", "a:b:c",
        "NOT", "AND", "OR", "{body}:x", "'; DROP TABLE messages; --", "& | ! <->"}) {
    SearchQuery q;
    q.user_id = alice.id;
    q.terms = {word(t)};
    auto r = run(store(), q);
    EXPECT_TRUE(r.ok()) << t << ": " << (r ? "" : r.error().message);
    q.terms = {phrase(t), word(t, true)};
    r = run(store(), q);
    EXPECT_TRUE(r.ok()) << t << ": " << (r ? "" : r.error().message);
  }
  // A "word" with punctuation inside is the phrase of its parts, as the text was indexed.
  EXPECT_EQ(found(store(), alice, {word("NEAR(the")}), Bodies({"near the body of water"}));
  EXPECT_EQ(found(store(), alice, {word("body:of")}), Bodies({"near the body of water"}));
  EXPECT_EQ(found(store(), alice, {word("body:water")}), Bodies{});
  EXPECT_EQ(found(store(), alice, {phrase("say \"hi\"")}), Bodies({"say \"hi\" or not"}));
}

TEST_P(StoreConformance, SearchWithoutTermOrFilterIsRefused) {
  auto alice = make_user("alice");
  SearchQuery q;
  q.user_id = alice.id;
  auto r = run(store(), q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

}  // namespace parley::store::conformance
