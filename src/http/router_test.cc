#include "http/router.h"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

Router make() {
  Router r;
  r.add("GET", "/api/v1/users/{id}", 1);
  r.add("GET", "/api/v1/users/me", 2);
  r.add("GET", "/api/v1/rooms/{id}/messages", 3);
  r.add("POST", "/api/v1/rooms/{id}/messages", 4);
  r.add("PATCH", "/api/v1/rooms/{id}/messages/{message_id}", 5);
  r.add("GET", "/livez", 6);
  return r;
}

TEST(Router, MatchesPlaceholdersAndReportsThePattern) {
  Router r = make();
  auto m = r.match("PATCH", "/api/v1/rooms/42/messages/77");
  ASSERT_TRUE(m.match);
  EXPECT_EQ(m.match->id, 5u);
  EXPECT_EQ(m.match->pattern, "/api/v1/rooms/{id}/messages/{message_id}");
  EXPECT_EQ(param(m.match->params, "id"), "42");
  EXPECT_EQ(param(m.match->params, "message_id"), "77");
}

TEST(Router, LiteralSegmentBeatsPlaceholderRegardlessOfOrder) {
  Router r = make();
  auto me = r.match("GET", "/api/v1/users/me");
  ASSERT_TRUE(me.match);
  EXPECT_EQ(me.match->id, 2u);
  auto other = r.match("GET", "/api/v1/users/123");
  ASSERT_TRUE(other.match);
  EXPECT_EQ(other.match->id, 1u);
}

TEST(Router, MethodSelectsTheRoute) {
  Router r = make();
  EXPECT_EQ(r.match("GET", "/api/v1/rooms/1/messages").match->id, 3u);
  EXPECT_EQ(r.match("POST", "/api/v1/rooms/1/messages").match->id, 4u);
  auto wrong = r.match("DELETE", "/api/v1/rooms/1/messages");
  EXPECT_FALSE(wrong.match);
  EXPECT_TRUE(wrong.path_known);
}

TEST(Router, UnknownAndMalformedPathsDoNotMatch) {
  Router r = make();
  EXPECT_FALSE(r.match("GET", "/api/v1/rooms//messages").match);  // empty placeholder
  EXPECT_FALSE(r.match("GET", "/api/v1/rooms/1/messages/").match);
  EXPECT_FALSE(r.match("GET", "/livez/x").match);
  EXPECT_FALSE(r.match("GET", "livez").match);
  EXPECT_FALSE(r.match("GET", "").match);
  EXPECT_FALSE(r.match("GET", "/nope").path_known);
  EXPECT_TRUE(r.match("GET", "/livez").match);
}

}  // namespace
}  // namespace parley::http
