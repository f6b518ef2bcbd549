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

// --- attachments, threads and mentions in search (decision 0017)

namespace parley::store::conformance {
namespace {

core::Attachment upload_of(Id id, Id uploader, std::int64_t at, std::string name, std::string sha,
                           core::AttachmentKind kind = core::AttachmentKind::kFile,
                           std::string mime = "text/plain") {
  core::Attachment a;
  a.id = id;
  a.uploader_id = uploader;
  a.name = std::move(name);
  a.mime = std::move(mime);
  a.kind = kind;
  a.size = 10;
  a.sha256 = std::move(sha);
  a.created_at = at;
  return a;
}

std::string sha_of(char c) { return std::string(64, c); }

}  // namespace

TEST_P(StoreConformance, SearchFindsFilesByNameAndHasFileAndHasImage) {
  auto alice = make_user("alice"), bob = make_user("bob"), eve = make_user("eve");
  auto g = make_group(alice, {bob});
  auto other = make_group(eve, {}, "eve only");
  auto upload = [&](const core::User& who, std::string name, char sha, core::AttachmentKind kind,
                    std::string mime) {
    NewAttachment n;
    n.attachment = upload_of(next_id(), who.id, tick(), std::move(name), sha_of(sha), kind,
                             std::move(mime));
    auto r = call<core::Attachment>([&](auto d) { store().create_attachment(n, std::move(d)); });
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    return r ? r->id : Id{0};
  };
  auto send_with = [&](const core::Room& room, const core::User& who, std::string body,
                       std::vector<Id> files) {
    NewMessage m;
    m.id = next_id();
    m.room_id = room.id;
    m.sender_id = who.id;
    m.client_txn_id = "f-" + std::to_string(m.id);
    m.body = std::move(body);
    m.created_at = tick();
    m.attachment_ids = std::move(files);
    return call<AppendResult>([&](auto done) { store().append_message(m, std::move(done)); });
  };
  Id pdf = upload(alice, "quarterly-budget.pdf", 'a', core::AttachmentKind::kFile, "application/pdf");
  Id png = upload(bob, "whiteboard.png", 'b', core::AttachmentKind::kImage, "image/png");
  Id eve_file = upload(eve, "budget-secret.txt", 'c', core::AttachmentKind::kFile, "text/plain");
  auto with_pdf = send_with(g, alice, "numbers for Q3", {pdf});
  ASSERT_TRUE(with_pdf.ok()) << with_pdf.error().message;
  ASSERT_TRUE(send_with(g, bob, "", {png}).ok());
  ASSERT_TRUE(send_with(other, eve, "mine", {eve_file}).ok());
  ASSERT_TRUE(send(g, bob, "the budget talk, no file").ok());

  // A word finds a message by its attachment's name (split into words like a body).
  EXPECT_EQ(found(store(), bob, {word("quarterly")}), Bodies({"numbers for Q3"}));
  EXPECT_EQ(found(store(), bob, {word("budget")}),
            Bodies({"numbers for Q3", "the budget talk, no file"}));
  EXPECT_EQ(found(store(), bob, {word("whiteboard"), word("png")}), Bodies({""}));
  // Not in rooms one cannot read.
  EXPECT_EQ(found(store(), bob, {word("secret")}), Bodies{});

  SearchQuery files;
  files.has_file = true;
  EXPECT_EQ(found(store(), bob, files), Bodies({"numbers for Q3", ""}));
  files.terms = {word("budget")};
  EXPECT_EQ(found(store(), bob, files), Bodies({"numbers for Q3"}));
  SearchQuery images;
  images.has_image = true;
  EXPECT_EQ(found(store(), bob, images), Bodies({""}));
  // Hits carry their attachments; a files-only message's snippet is its file names.
  images.user_id = bob.id;
  auto r = run(store(), images);
  ASSERT_TRUE(r.ok() && r->size() == 1u);
  ASSERT_EQ(r->front().message.attachments.size(), 1u);
  EXPECT_EQ(r->front().message.attachments[0].name, "whiteboard.png");
  EXPECT_EQ(r->front().snippet, "whiteboard.png");

  // Deleting the message: gone from every kind of search at once.
  auto del = call<core::RoomEvent>([&](auto done) {
    store().delete_message(g.id, with_pdf->event.message->id, alice.id, alice.id, tick(),
                           std::move(done));
  });
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(found(store(), bob, {word("quarterly")}), Bodies{});
  SearchQuery any_file;
  any_file.has_file = true;
  EXPECT_EQ(found(store(), bob, any_file), Bodies({""}));
}

TEST_P(StoreConformance, SearchFindsFilesByTheirTextOnceExtracted) {
  auto alice = make_user("alice"), bob = make_user("bob");
  auto g = make_group(alice, {bob});
  auto create = [&](std::string name, char sha, std::string mime) {
    NewAttachment n;
    n.attachment = upload_of(next_id(), alice.id, tick(), std::move(name), sha_of(sha),
                             core::AttachmentKind::kFile, std::move(mime));
    auto r = call<core::Attachment>([&](auto d) { store().create_attachment(n, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return r ? *r : core::Attachment{};
  };
  auto needing = [&](std::vector<std::string> types) {
    auto r = call<std::vector<core::Attachment>>(
        [&](auto d) { store().blobs_needing_text(types, 100, std::move(d)); });
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    std::multiset<std::string> names;
    if (r) {
      for (const auto& a : *r) names.insert(a.name);
    }
    return names;
  };
  auto set_text = [&](char sha, std::string text) {
    BlobText t{sha_of(sha), std::move(text), BlobTextStatus::kExtracted, tick()};
    auto r = call<std::int64_t>([&](auto d) { store().set_blob_text(t, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return r ? *r : -1;
  };
  auto notes = create("notes.txt", 'n', "text/plain");
  auto paper = create("paper.pdf", 'p', "application/pdf");
  create("photo.jpg", 'j', "image/jpeg");
  // Only the types asked for, "type/*" a family; one per blob.
  EXPECT_EQ(needing({"text/*", "application/pdf"}),
            (std::multiset<std::string>{"notes.txt", "paper.pdf"}));
  EXPECT_EQ(needing({"application/pdf"}), (std::multiset<std::string>{"paper.pdf"}));

  // Text that arrives before the message is sent is indexed with it.
  EXPECT_EQ(set_text('n', "the zeppelin departs at noon"), 0);
  EXPECT_EQ(needing({"text/*", "application/pdf"}), (std::multiset<std::string>{"paper.pdf"}));
  NewMessage m;
  m.id = next_id();
  m.room_id = g.id;
  m.sender_id = alice.id;
  m.client_txn_id = "t-1";
  m.body = "see both";
  m.created_at = tick();
  m.attachment_ids = {notes.id, paper.id};
  auto sent = call<AppendResult>([&](auto done) { store().append_message(m, std::move(done)); });
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(found(store(), bob, {word("zeppelin")}), Bodies({"see both"}));
  EXPECT_EQ(found(store(), bob, {word("photosynthesis")}), Bodies{});
  // Text that arrives after the send re-indexes the message at once; the snippet shows it.
  EXPECT_EQ(set_text('p', "chlorophyll and photosynthesis explained"), 1);
  SearchQuery q;
  q.user_id = bob.id;
  q.terms = {word("photosynthesis")};
  q.has_file = true;
  auto r = run(store(), q);
  ASSERT_TRUE(r.ok() && r->size() == 1u);
  EXPECT_NE(r->front().snippet.find(std::string(1, kSnippetMatchBegin) + "photosynthesis"),
            std::string::npos);
  // A blob's text is kept once: a second extraction changes nothing.
  EXPECT_EQ(set_text('p', "something else"), 0);
  EXPECT_EQ(found(store(), bob, {word("chlorophyll")}), Bodies({"see both"}));
  // An edit of the body keeps the files' words searchable.
  auto edited = call<core::RoomEvent>([&](auto done) {
    store().edit_message(g.id, m.id, alice.id, "see both files", alice.id, tick(),
                         std::move(done));
  });
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(found(store(), bob, {word("zeppelin")}), Bodies({"see both files"}));
  // Deleting the message: its files' words are never found again, and their texts are gone
  // (a later upload of the same bytes is extracted afresh).
  auto del = call<core::RoomEvent>([&](auto done) {
    store().delete_message(g.id, m.id, alice.id, alice.id, tick(), std::move(done));
  });
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(found(store(), bob, {word("zeppelin")}), Bodies{});
  EXPECT_EQ(found(store(), bob, {word("chlorophyll")}), Bodies{});
  create("again.txt", 'n', "text/plain");
  EXPECT_EQ(needing({"text/*"}), (std::multiset<std::string>{"again.txt"}));
  // The text of a blob nobody refers to is not stored.
  EXPECT_EQ(set_text('z', "orphan words"), 0);
}

TEST_P(StoreConformance, SearchIsThreadAndMentionsMe) {
  auto alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol");
  auto g = make_group(alice, {bob, carol});
  auto post = [&](const core::User& who, std::string body, Id root, core::Mentions mentions) {
    NewMessage m;
    m.id = next_id();
    m.room_id = g.id;
    m.sender_id = who.id;
    m.client_txn_id = "p-" + std::to_string(m.id);
    m.body = std::move(body);
    m.thread_root = root;
    m.created_at = tick();
    m.content.compose = [mentions](const ContentLookup&) -> core::Result<MessageContent> {
      return MessageContent{"<p>x</p>", mentions};
    };
    auto r = call<AppendResult>([&](auto done) { store().append_message(m, std::move(done)); });
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    return r ? r->event.message->id : Id{0};
  };
  Id root = post(alice, "plan root", 0, {});
  post(bob, "plan reply", root, {});
  post(alice, "plan lonely", 0, {});
  core::Mentions to_bob;
  to_bob.user_ids = {bob.id};
  post(alice, "hey bob plan", 0, to_bob);
  core::Mentions everyone;
  everyone.room = true;
  post(carol, "all hands plan", 0, everyone);
  post(bob, "bob to the room plan", 0, everyone);

  SearchQuery threads;
  threads.is_thread = true;
  EXPECT_EQ(found(store(), carol, threads), Bodies({"plan root", "plan reply"}));
  threads.terms = {word("reply")};
  EXPECT_EQ(found(store(), carol, threads), Bodies({"plan reply"}));

  // By name or @room/@here, never one's own messages.
  SearchQuery mine;
  mine.mentions_me = true;
  EXPECT_EQ(found(store(), bob, mine), Bodies({"hey bob plan", "all hands plan"}));
  EXPECT_EQ(found(store(), carol, mine), Bodies({"bob to the room plan"}));
  mine.terms = {word("hands")};
  EXPECT_EQ(found(store(), bob, mine), Bodies({"all hands plan"}));

  // Membership as for words: after leaving, only mentions up to the leave.
  auto left = call<core::RoomEvent>(
      [&](auto done) { store().remove_member(g.id, bob.id, bob.id, tick(), std::move(done)); });
  ASSERT_TRUE(left.ok());
  post(alice, "later plan", 0, everyone);
  SearchQuery after_leave;
  after_leave.mentions_me = true;
  EXPECT_EQ(found(store(), bob, after_leave), Bodies({"hey bob plan", "all hands plan"}));
}

}  // namespace parley::store::conformance
