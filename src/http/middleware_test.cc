#include "http/middleware.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "http/problem.h"

namespace parley::http {
namespace {

Request with_headers(std::vector<std::pair<std::string, std::string>> h) {
  Request r;
  r.method = "POST";
  r.target = "/api/v1/rooms";
  r.headers = std::move(h);
  return r;
}

TEST(RequestId, AcceptsOnlySaneIds) {
  EXPECT_TRUE(valid_request_id("abc-123_x.y"));
  EXPECT_TRUE(valid_request_id(std::string(64, 'a')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(65, 'a')));
  EXPECT_FALSE(valid_request_id("a b"));
  EXPECT_FALSE(valid_request_id("a\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(valid_request_id("<script>"));
}

TEST(Csrf, SameOriginByHostIsAccepted) {
  auto r = with_headers({{"host", "chat.example.com:8080"}, {"origin", "http://chat.example.com:8080"}});
  EXPECT_TRUE(same_origin_request(r, {}, ""));
  r.tls = true;  // over TLS the own origin is https://...
  EXPECT_FALSE(same_origin_request(r, {}, ""));
  r.headers[1].second = "https://CHAT.example.com:8080";
  EXPECT_TRUE(same_origin_request(r, {}, ""));
}

TEST(Csrf, ForeignMissingOrNullOriginIsRejected) {
  EXPECT_FALSE(same_origin_request(
      with_headers({{"host", "chat.example.com"}, {"origin", "https://evil.example"}}), {}, ""));
  EXPECT_FALSE(same_origin_request(with_headers({{"host", "chat.example.com"}}), {}, ""));
  EXPECT_FALSE(same_origin_request(
      with_headers({{"host", "chat.example.com"}, {"origin", "null"}}), {}, ""));
  EXPECT_FALSE(same_origin_request(
      with_headers({{"host", "chat.example.com"}, {"sec-fetch-site", "cross-site"}}), {}, ""));
  // A prefix of the own origin is not the own origin.
  EXPECT_FALSE(same_origin_request(
      with_headers({{"host", "chat.example.com"}, {"origin", "http://chat.example.com.evil.io"}}),
      {}, ""));
}

TEST(Csrf, SecFetchSiteAllowedOriginsAndPublicUrlAreAccepted) {
  EXPECT_TRUE(same_origin_request(with_headers({{"sec-fetch-site", "same-origin"}}), {}, ""));
  auto r = with_headers({{"host", "10.0.0.5:8080"}, {"origin", "https://app.example.com"}});
  EXPECT_FALSE(same_origin_request(r, {}, ""));
  EXPECT_TRUE(same_origin_request(r, {"https://app.example.com"}, ""));
  EXPECT_TRUE(same_origin_request(r, {}, "https://app.example.com/chat/"));
}

TEST(Credentials, BearerWinsOverCookie) {
  Request r = with_headers({{"authorization", "Bearer tok-1"}, {"cookie", "a=b; parley_session=tok-2"}});
  auto c = credentials(r);
  EXPECT_EQ(c.token, "tok-1");
  EXPECT_FALSE(c.from_cookie);
  r.headers.erase(r.headers.begin());
  c = credentials(r);
  EXPECT_EQ(c.token, "tok-2");
  EXPECT_TRUE(c.from_cookie);
  EXPECT_EQ(credentials(with_headers({{"authorization", "Basic eDp5"}})).token, "");
}

TEST(Cookies, ValueByName) {
  EXPECT_EQ(cookie_value("a=1; parley_session=xyz; b=2", "parley_session"), "xyz");
  EXPECT_EQ(cookie_value("xparley_session=no", "parley_session"), "");
  EXPECT_EQ(cookie_value("parley_session=\"q\"", "parley_session"), "q");
}

TEST(SessionCookie, HasTheProtectiveAttributes) {
  std::string c = session_cookie("tok", 3600, false);
  EXPECT_EQ(c, "parley_session=tok; HttpOnly; SameSite=Lax; Path=/; Max-Age=3600");
  EXPECT_NE(session_cookie("tok", 3600, true).find("; Secure"), std::string::npos);
  EXPECT_NE(clear_session_cookie(false).find("Max-Age=0"), std::string::npos);
}

TEST(ContentType, OnlyJsonCounts) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_json_content_type(""));
}

TEST(Query, ParsesAndDecodes) {
  auto q = parse_query("q=al%20ice&limit=5&flag&x=a+b");
  ASSERT_TRUE(q);
  EXPECT_EQ(query_value(*q, "q"), "al ice");
  EXPECT_EQ(query_value(*q, "limit"), "5");
  EXPECT_EQ(query_value(*q, "flag"), "");
  EXPECT_EQ(query_value(*q, "x"), "a b");
  EXPECT_FALSE(query_value(*q, "missing"));
  EXPECT_FALSE(parse_query("a=%zz"));
  EXPECT_FALSE(parse_query("a=%4"));
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_EQ(percent_decode("a%2Fb+c", false), "a/b+c");
}

TEST(Problem, HasTheDocumentedShape) {
  Response r = problem_response(core::make_error(core::Errc::kNotFound, "room not found"), "r-1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(response_header(r, "content-type"), "application/problem+json");
  auto v = boost::json::parse(r.body).as_object();
  EXPECT_EQ(v.at("type").as_string(), "https://parley.chat/problems/not_found");
  EXPECT_EQ(v.at("title").as_string(), "Not Found");
  EXPECT_EQ(v.at("status").as_int64(), 404);
  EXPECT_EQ(v.at("code").as_string(), "not_found");
  EXPECT_EQ(v.at("detail").as_string(), "room not found");
  EXPECT_EQ(v.at("request_id").as_string(), "r-1");
}

TEST(Problem, RateLimitedCarriesRetryAfterInWholeSeconds) {
  core::Error e = core::make_error(core::Errc::kRateLimited, "slow down");
  e.retry_after_ms = 1200;
  Response r = problem_response(e, "r-2");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(response_header(r, "retry-after"), "2");
  EXPECT_EQ(boost::json::parse(r.body).at("retry_after_ms").as_int64(), 1200);
}

TEST(TransportError, HasCommonHeaders) {
  Request req = with_headers({{"x-request-id", "client-7"}});
  req.tls = true;
  Response r = transport_error_response(req, core::make_error(core::Errc::kTooLarge, "too big"));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(response_header(r, "x-request-id"), "client-7");
  EXPECT_EQ(response_header(r, "x-content-type-options"), "nosniff");
  EXPECT_FALSE(response_header(r, "strict-transport-security").empty());
  EXPECT_EQ(response_header(r, "cache-control"), "no-store");
}

}  // namespace
}  // namespace parley::http
