// The search use case over the real SQLite store (temp file): names in the query resolved to
// users, pages and cursors, snippets as safe HTML, clear refusals, the per-user rate limit.
#include "chat/search_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "chat/chat_service.h"
#include "chat/testing/fixture.h"
#include "core/testing/wait.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::chat {
namespace {

using core::Errc;
using core::Id;
using test::wait;

class NullPublisher final : public Publisher {
 public:
  void room_event(const core::RoomEvent&) override {}
  void room_joined(Id, const core::Room&) override {}
  void sessions_revoked(Id, Id) override {}
  void read_state(const core::ReadState&) override {}
  void receipt(const core::ReadState&) override {}
};

class SearchServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("search");
    store_ = test::open_test_store(dir_);
    ChatConfig config;
    config.search = SearchConfig{600, 1000};
    chat_ = std::make_unique<ChatService>(ChatService::Deps{*store_, pub_, clock_, ids_}, config);
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    carol_ = make_user("carol");
  }
  void TearDown() override {
    chat_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  auth::Actor make_user(const std::string& name) {
    return test::make_test_user(*store_, ids_, clock_, name);
  }
  core::Room group(const auth::Actor& owner, std::vector<Id> members, std::string name = "team") {
    CreateGroupRequest req{std::move(name), "", std::move(members)};
    return wait<core::Room>([&](auto d) { chat_->create_group(owner, req, std::move(d)); }).value();
  }
  core::Room dm(const auth::Actor& a, const auth::Actor& b) {
    return wait<store::DmResult>([&](auto d) { chat_->open_dm(a, b.user_id, std::move(d)); })
        .value()
        .room;
  }
  void send(const auth::Actor& who, Id room, const std::string& body) {
    auto r = wait<store::AppendResult>([&](auto d) {
      chat_->send(who, SendRequest{room, "t" + std::to_string(++txn_), body, 0}, std::move(d));
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  core::Result<SearchResult> search(const auth::Actor& who, std::string q, int limit = 20,
                                    std::string cursor = "",
                                    store::SearchOrder order = store::SearchOrder::kRelevance) {
    SearchRequest req;
    req.q = std::move(q);
    req.limit = limit;
    req.cursor = std::move(cursor);
    req.order = order;
    return wait<SearchResult>([&](auto d) { chat_->search().search(who, req, std::move(d)); });
  }
  std::multiset<std::string> bodies(const auth::Actor& who, std::string q) {
    auto r = search(who, std::move(q));
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    std::multiset<std::string> out;
    if (r) {
      for (const auto& h : r->hits) out.insert(h.hit.message.body);
    }
    return out;
  }

  std::filesystem::path dir_;
  core::SystemClock clock_;
  core::IdGenerator ids_{clock_, 1};
  std::unique_ptr<store::SqliteStore> store_;
  NullPublisher pub_;
  std::unique_ptr<ChatService> chat_;
  auth::Actor alice_, bob_, carol_;
  int txn_ = 0;
};

using Bodies = std::multiset<std::string>;

TEST(SearchSnippet, EscapesEverythingButTheMarks) {
  std::string s = "a <script>&\"'\x01" "deploy\x02 x";
  EXPECT_EQ(snippet_to_html(s),
            "a &lt;script&gt;&amp;&quot;&#39;<mark>deploy</mark> x");
}

TEST(SearchCursor, RoundTripsAndRefusesForeignOrTamperedCursors) {
  using store::SearchOrder;
  store::SearchCursor c{-1.2345678901234567e-06, 7213848202752123};
  auto s = encode_search_cursor(SearchOrder::kRelevance, c);
  auto back = decode_search_cursor(s, SearchOrder::kRelevance);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->score, c.score);  // exact: the shortest round-trip form
  EXPECT_EQ(back->message_id, c.message_id);
  EXPECT_FALSE(decode_search_cursor(s, SearchOrder::kRecent));
  auto t = encode_search_cursor(SearchOrder::kRecent, c);
  ASSERT_TRUE(decode_search_cursor(t, SearchOrder::kRecent));
  EXPECT_EQ(decode_search_cursor(t, SearchOrder::kRecent)->message_id, c.message_id);
  for (const std::string& bad : std::vector<std::string>{"", "!!!", "cjox", "dDo", std::string(200, 'A'), s + "*", "dDotMQ"}) {
    EXPECT_FALSE(decode_search_cursor(bad, SearchOrder::kRecent)) << bad;
    EXPECT_FALSE(decode_search_cursor(bad, SearchOrder::kRelevance)) << bad;
  }
}

TEST_F(SearchServiceTest, ResolvesUsersInTheQuery) {
  auto g = group(alice_, {bob_.user_id, carol_.user_id});
  auto ab = dm(alice_, bob_);
  send(alice_, g.id, "lunch plans from alice");
  send(bob_, g.id, "lunch plans from bob");
  send(bob_, ab.id, "lunch in private");
  EXPECT_EQ(bodies(alice_, "lunch from:@bob"), Bodies({"lunch plans from bob", "lunch in private"}));
  EXPECT_EQ(bodies(alice_, "lunch from:me"), Bodies({"lunch plans from alice"}));
  EXPECT_EQ(bodies(alice_, "lunch from:@BOB in:@bob"), Bodies({"lunch in private"}));
  EXPECT_EQ(bodies(alice_, "in:@bob"), Bodies({"lunch in private"}));
  EXPECT_EQ(bodies(carol_, "lunch in:@bob"), Bodies{});  // carol has no DM with bob
  EXPECT_EQ(bodies(alice_, "lunch in:#TEAM from:alice"), Bodies({"lunch plans from alice"}));
  auto r = search(alice_, "lunch from:@nobody");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message, "q: from:@nobody: no such user");
}

TEST_F(SearchServiceTest, PagesWithTheCursorAndRendersSnippets) {
  auto g = group(alice_, {bob_.user_id});
  for (int i = 0; i < 7; ++i) send(alice_, g.id, "<em>release</em> note " + std::to_string(i));
  for (auto order : {store::SearchOrder::kRelevance, store::SearchOrder::kRecent}) {
    std::set<Id> seen;
    std::string cursor;
    int pages = 0;
    do {
      auto r = search(bob_, "release", 3, cursor, order);
      ASSERT_TRUE(r.ok()) << r.error().message;
      ++pages;
      for (const auto& h : r->hits) {
        EXPECT_TRUE(seen.insert(h.hit.message.id).second);
        EXPECT_EQ(h.snippet_html.find("<em>"), std::string::npos) << h.snippet_html;
        EXPECT_NE(h.snippet_html.find("&lt;em&gt;<mark>release</mark>&lt;/em&gt;"),
                  std::string::npos)
            << h.snippet_html;
      }
      cursor = r->next;
    } while (!cursor.empty() && pages < 10);
    EXPECT_EQ(seen.size(), 7u);
    EXPECT_EQ(pages, 3);
  }
  auto wrong = search(bob_, "release", 3,
                      search(bob_, "release", 3)->next, store::SearchOrder::kRecent);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::kInvalidArgument);
}

TEST_F(SearchServiceTest, RefusesBadRequestsClearly) {
  for (int limit : {0, -1, store::kMaxSearchLimit + 1}) {
    auto r = search(alice_, "x", limit);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind("limit:", 0), 0u) << r.error().message;
  }
  auto r = search(alice_, "x", 20, "garbage");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("cursor:", 0), 0u);
  r = search(alice_, "\"open");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("q: unbalanced quote", 0), 0u);
}

TEST_F(SearchServiceTest, RateLimitsEachUser) {
  ChatConfig config;
  config.search = SearchConfig{1, 3};
  ChatService tight(ChatService::Deps{*store_, pub_, clock_, ids_}, config);
  auto one = [&](const auth::Actor& who) {
    SearchRequest req;
    req.q = "hello";
    return wait<SearchResult>([&](auto d) { tight.search().search(who, req, std::move(d)); });
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(one(alice_).ok());
  auto r = one(alice_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kRateLimited);
  EXPECT_GT(r.error().retry_after_ms, 0);
  EXPECT_TRUE(one(bob_).ok());  // per user
}

}  // namespace
}  // namespace parley::chat
