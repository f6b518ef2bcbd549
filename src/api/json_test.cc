#include "api/json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace parley::api {
namespace {

TEST(Json, IdsAreStringsAndUnsetTimesNull) {
  core::Message m;
  m.id = 9007199254740993ull;  // 2^53 + 1: would be corrupted as a JSON number
  m.room_id = 5;
  m.sender_id = 6;
  m.seq = 3;
  m.body = "hi";
  auto o = to_json(m);
  EXPECT_EQ(o["id"].as_string(), "9007199254740993");
  EXPECT_TRUE(o["edited_at"].is_null());
  EXPECT_TRUE(o["reply_to"].is_null());
}

TEST(Json, MessagesCarryHtmlAndMentions) {
  core::Message m;
  m.id = 1;
  m.body = "hi @bob @room";
  m.html = "<p>hi <span class=\"mention\" data-user-id=\"9007199254740993\">@bob</span></p>\n";
  m.mentions.user_ids = {9007199254740993ull};
  m.mentions.room = true;
  auto o = to_json(m);
  EXPECT_EQ(o["html"].as_string(), m.html);
  EXPECT_EQ(o["mentions"].at("user_ids").as_array().at(0).as_string(), "9007199254740993");
  EXPECT_TRUE(o["mentions"].at("room").as_bool());
  EXPECT_FALSE(o["mentions"].at("here").as_bool());
  core::RoomSummary s;
  s.unread = 4;
  s.unread_mentions = 2;
  EXPECT_EQ(to_json(s)["unread_mentions"].as_int64(), 2);
  core::ReadState r;
  r.unread_mentions = 3;
  EXPECT_EQ(to_json(r)["unread_mentions"].as_int64(), 3);
}

TEST(Json, EventFrameCarriesTypeAsOp) {
  core::RoomEvent e;
  e.type = core::EventType::kMemberJoined;
  e.room_id = 1;
  e.seq = 7;
  e.user_id = 2;
  auto v = boost::json::parse(event_frame(e));
  EXPECT_EQ(v.at("op").as_string(), "member.joined");
  EXPECT_EQ(v.at("d").at("seq").as_int64(), 7);
  EXPECT_EQ(v.at("d").at("user_id").as_string(), "2");
}

TEST(Json, ReadsIdsAsStringsOrSafeIntegers) {
  auto o = parse_object(R"({"a":"12","b":12,"c":-1,"d":"x","e":9007199254740993})").value();
  EXPECT_EQ(get_id(o, "a").value(), 12u);
  EXPECT_EQ(get_id(o, "b").value(), 12u);
  EXPECT_FALSE(get_id(o, "c"));
  EXPECT_FALSE(get_id(o, "d"));
  EXPECT_FALSE(get_id(o, "e"));
  EXPECT_FALSE(get_id(o, "missing"));
  EXPECT_FALSE(get_optional_id(o, "missing").value());
}

TEST(Json, ParseObjectRejectsNonObjects) {
  EXPECT_EQ(parse_object("[1]").error().code, core::Errc::kInvalidJson);
  EXPECT_EQ(parse_object("{").error().code, core::Errc::kInvalidJson);
  EXPECT_TRUE(parse_object("{}"));
}

}  // namespace
}  // namespace parley::api
