#include "http/dispatcher.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace parley::http {
namespace {

namespace fs = std::filesystem;
using core::Errc;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    web_root_ = fs::temp_directory_path() / ("parley_disp_" + std::to_string(std::random_device{}()));
    fs::create_directories(web_root_);
    std::ofstream(web_root_ / "index.html") << "<!doctype html>";
    ops::HttpConfig config;
    config.max_body_bytes = 64;
    config.web_root = web_root_.string();
    config.allowed_origins = {"https://app.example.com"};
    dispatcher_ = std::make_unique<Dispatcher>(
        Dispatcher::Deps{
            .authenticate =
                [this](std::string token, store::Callback<auth::AuthContext> done) {
                  ++auth_calls_;
                  if (token != "good") return done(core::make_error(Errc::kUnauthorized, "bad token"));
                  auth::AuthContext ctx;
                  ctx.actor.user_id = 7;
                  ctx.actor.username = "alice";
                  done(ctx);
                },
            .metrics = metrics_,
        },
        config);
    using Access = Dispatcher::Access;
    dispatcher_->add("GET", "/api/v1/ok", Access::kPublic, [](std::shared_ptr<Call> c) {
      boost::json::object o;
      o["ok"] = true;
      c->reply_json(200, o);
    });
    dispatcher_->add("GET", "/api/v1/boom", Access::kPublic, [](std::shared_ptr<Call>) {
      throw std::runtime_error("database exploded: secret detail");
    });
    dispatcher_->add("GET", "/api/v1/slow", Access::kPublic, [](std::shared_ptr<Call> c) {
      core::Error e = core::make_error(Errc::kRateLimited, "slow down");
      e.retry_after_ms = 2500;
      c->fail(e);
    });
    dispatcher_->add("POST", "/api/v1/things/{id}", Access::kAuthenticated,
                     [](std::shared_ptr<Call> c) {
                       auto body = c->json_body();
                       if (c->failed(body)) return;
                       boost::json::object o;
                       o["user"] = c->actor().username;
                       o["id"] = c->param("id");
                       c->reply_json(201, o);
                       c->reply_json(500, o);  // ignored: only the first reply counts
                     });
    dispatcher_->add("GET", "/api/v1/me", Access::kAuthenticated, [](std::shared_ptr<Call> c) {
      c->reply_empty(204);
    });
  }
  ~DispatcherTest() override { fs::remove_all(web_root_); }

  Response send(std::string method, std::string target,
                std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = "") {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.client_ip = "127.0.0.1";
    int calls = 0;
    Response out;
    dispatcher_->handle(std::move(req), [&](Response r) {
      ++calls;
      out = std::move(r);
    });
    EXPECT_EQ(calls, 1);  // the fakes answer synchronously
    return out;
  }

  static std::string h(const Response& r, std::string_view name) {
    return std::string(response_header(r, name));
  }
  static boost::json::object json(const Response& r) { return boost::json::parse(r.body).as_object(); }

  static void expect_security_headers(const Response& r, bool web_page = false) {
    EXPECT_EQ(h(r, "x-content-type-options"), "nosniff");
    EXPECT_EQ(h(r, "referrer-policy"), "no-referrer");
    EXPECT_EQ(h(r, "x-frame-options"), "DENY");
    EXPECT_EQ(h(r, "cross-origin-opener-policy"), "same-origin");
    if (web_page) {
      EXPECT_NE(h(r, "content-security-policy").find("script-src 'self'"), std::string::npos);
    } else {
      EXPECT_EQ(h(r, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
      EXPECT_EQ(h(r, "cache-control"), "no-store");
    }
    EXPECT_FALSE(h(r, "x-request-id").empty());
  }

  ops::Registry metrics_;
  fs::path web_root_;
  int auth_calls_ = 0;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, SecurityHeadersOn200_404_500AndStatic) {
  Response ok = send("GET", "/api/v1/ok");
  EXPECT_EQ(ok.status, 200);
  expect_security_headers(ok);
  Response missing = send("GET", "/api/v1/nope");
  EXPECT_EQ(missing.status, 404);
  expect_security_headers(missing);
  Response boom = send("GET", "/api/v1/boom");
  EXPECT_EQ(boom.status, 500);
  expect_security_headers(boom);
  Response page = send("GET", "/some/client/route");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<!doctype html>");
  expect_security_headers(page, true);
}

TEST_F(DispatcherTest, InternalErrorsHideTheirDetail) {
  Response boom = send("GET", "/api/v1/boom");
  auto p = json(boom);
  EXPECT_EQ(p.at("code").as_string(), "internal");
  EXPECT_EQ(p.at("detail").as_string(), "internal error");
  EXPECT_EQ(boom.body.find("secret"), std::string::npos);
}

TEST_F(DispatcherTest, ProblemJsonShapeOnErrors) {
  Response r = send("GET", "/api/v1/nope", {{"x-request-id", "abc-1"}});
  EXPECT_EQ(h(r, "content-type"), "application/problem+json");
  auto p = json(r);
  EXPECT_EQ(p.at("status").as_int64(), 404);
  EXPECT_EQ(p.at("code").as_string(), "not_found");
  EXPECT_EQ(p.at("title").as_string(), "Not Found");
  EXPECT_EQ(p.at("type").as_string(), "https://parley.chat/problems/not_found");
  EXPECT_EQ(p.at("request_id").as_string(), "abc-1");
  EXPECT_TRUE(p.at("detail").is_string());
}

TEST_F(DispatcherTest, RequestIdEchoedWhenSaneElseGenerated) {
  EXPECT_EQ(h(send("GET", "/api/v1/ok", {{"x-request-id", "client.id_42"}}), "x-request-id"),
            "client.id_42");
  std::string a = h(send("GET", "/api/v1/ok", {{"x-request-id", "bad id with spaces"}}), "x-request-id");
  std::string b = h(send("GET", "/api/v1/ok"), "x-request-id");
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, "bad id with spaces");
  EXPECT_NE(a, b);
  EXPECT_TRUE(valid_request_id(a));
}

TEST_F(DispatcherTest, AuthenticationRequiredAndBearerAccepted) {
  Response none = send("POST", "/api/v1/things/5", {{"content-type", "application/json"}}, "{}");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json(none).at("code").as_string(), "unauthorized");
  Response wrong = send("POST", "/api/v1/things/5",
                        {{"authorization", "Bearer nope"}, {"content-type", "application/json"}}, "{}");
  EXPECT_EQ(wrong.status, 401);
  Response ok = send("POST", "/api/v1/things/5",
                     {{"authorization", "Bearer good"}, {"content-type", "application/json"}}, "{}");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(json(ok).at("user").as_string(), "alice");
  EXPECT_EQ(json(ok).at("id").as_string(), "5");
}

TEST_F(DispatcherTest, CookieMutationNeedsSameOrigin) {
  auto post = [&](std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> hs = {
        {"cookie", "parley_session=good"}, {"content-type", "application/json"}, {"host", "chat.local:8080"}};
    hs.insert(hs.end(), extra.begin(), extra.end());
    return send("POST", "/api/v1/things/1", hs, "{}");
  };
  int before = auth_calls_;
  Response cross = post({{"origin", "https://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_EQ(json(cross).at("code").as_string(), "forbidden");
  Response no_origin = post({});
  EXPECT_EQ(no_origin.status, 403);
  EXPECT_EQ(auth_calls_, before);  // refused before the token is even looked up

  EXPECT_EQ(post({{"origin", "http://chat.local:8080"}}).status, 201);
  EXPECT_EQ(post({{"sec-fetch-site", "same-origin"}}).status, 201);
  EXPECT_EQ(post({{"origin", "https://app.example.com"}}).status, 201);
  // Reads by cookie need no origin; bearer mutations need none either.
  EXPECT_EQ(send("GET", "/api/v1/me", {{"cookie", "parley_session=good"}}).status, 204);
  // A dead cookie is cleared by the 401; a bad bearer token leaves cookies alone.
  Response dead = send("GET", "/api/v1/me", {{"cookie", "parley_session=expired"}});
  EXPECT_EQ(dead.status, 401);
  EXPECT_NE(h(dead, "set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(h(send("GET", "/api/v1/me", {{"authorization", "Bearer expired"}}), "set-cookie"), "");
  EXPECT_EQ(send("POST", "/api/v1/things/1",
                 {{"authorization", "Bearer good"}, {"content-type", "application/json"},
                  {"origin", "https://evil.example"}},
                 "{}")
                .status,
            201);
}

TEST_F(DispatcherTest, MutationBodiesMustBeJson) {
  Response form = send("POST", "/api/v1/things/1",
                       {{"authorization", "Bearer good"}, {"content-type", "text/plain"}}, "{}");
  EXPECT_EQ(form.status, 400);
  EXPECT_EQ(json(form).at("code").as_string(), "invalid_argument");
  Response garbage = send("POST", "/api/v1/things/1",
                          {{"authorization", "Bearer good"}, {"content-type", "application/json"}}, "{x");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(json(garbage).at("code").as_string(), "invalid_json");
}

TEST_F(DispatcherTest, CredentialsAreCheckedBeforeTheBodyAndQuery) {
  // Without valid credentials, a client learns nothing about its input: 401 first.
  Response none = send("POST", "/api/v1/things/1", {{"content-type", "text/plain"}}, "abc");
  EXPECT_EQ(none.status, 401);
  Response bad = send("POST", "/api/v1/things/1",
                      {{"authorization", "Bearer nope"}, {"content-type", "text/plain"}}, "abc");
  EXPECT_EQ(bad.status, 401);
}

TEST_F(DispatcherTest, AdmitChecksCredentialsThenTheRoutesCheckBeforeTheBody) {
  auto admit = [&](Request req, Dispatcher::Check check) {
    std::optional<std::optional<Response>> out;
    dispatcher_->admit(std::move(req), std::move(check),
                       [&](std::optional<Response> r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "answered exactly once, here synchronously";
    return out.value_or(std::nullopt);
  };
  auto head = [](std::vector<std::pair<std::string, std::string>> headers) {
    Request r;
    r.method = "POST";
    r.target = "/api/v1/things/5?x=1";
    r.headers = std::move(headers);
    return r;
  };
  int checks = 0;
  auto admit_all = [&](std::shared_ptr<Call> c, std::function<void()> ok) {
    ++checks;
    EXPECT_EQ(c->actor().username, "alice");
    EXPECT_EQ(c->param("id"), "5");
    ok();
  };
  auto refused = admit(head({}), admit_all);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(h(*refused, "content-type"), "application/problem+json");
  EXPECT_FALSE(h(*refused, "x-request-id").empty());
  refused = admit(head({{"authorization", "Bearer nope"}}), admit_all);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  refused = admit(head({{"cookie", "parley_session=good"}, {"origin", "https://evil.example"},
                        {"host", "chat.local"}}),
                  admit_all);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(checks, 0) << "the route's check runs only once authenticated";
  EXPECT_FALSE(admit(head({{"authorization", "Bearer good"}}), admit_all));
  EXPECT_EQ(checks, 1);
  // The route's own refusal comes back as a problem response.
  refused = admit(head({{"authorization", "Bearer good"}}), [](std::shared_ptr<Call> c, auto) {
    c->fail(core::make_error(Errc::kQuotaExceeded, "full"));
  });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_EQ(json(*refused).at("code").as_string(), "quota_exceeded");
  // Public and unknown routes are admitted (their handler answers).
  Request pub;
  pub.method = "GET";
  pub.target = "/api/v1/ok";
  EXPECT_FALSE(admit(pub, admit_all));
  Request unknown;
  unknown.method = "POST";
  unknown.target = "/api/v1/nowhere";
  EXPECT_FALSE(admit(unknown, admit_all));
  EXPECT_EQ(checks, 1);
}

TEST_F(DispatcherTest, BodyOverLimitIs413) {
  Response r = send("POST", "/api/v1/things/1",
                    {{"authorization", "Bearer good"}, {"content-type", "application/json"}},
                    "{\"x\":\"" + std::string(100, 'a') + "\"}");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json(r).at("code").as_string(), "too_large");
}

TEST_F(DispatcherTest, RateLimitedHasRetryAfterAndIsCounted) {
  Response r = send("GET", "/api/v1/slow");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(h(r, "retry-after"), "3");
  std::string text = metrics_.render();
  EXPECT_NE(text.find("parley_rate_limited_total{where=\"http\"} 1"), std::string::npos) << text;
}

TEST_F(DispatcherTest, MetricsUseRoutePatternsNotRawPaths) {
  send("POST", "/api/v1/things/123456",
       {{"authorization", "Bearer good"}, {"content-type", "application/json"}}, "{}");
  send("GET", "/api/v1/nowhere/999");
  std::string text = metrics_.render();
  EXPECT_NE(text.find("parley_http_requests_total{route=\"/api/v1/things/{id}\",status=\"201\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("route=\"unmatched\",status=\"404\""), std::string::npos);
  EXPECT_EQ(text.find("123456"), std::string::npos);
  EXPECT_EQ(text.find("999"), std::string::npos);
}

TEST_F(DispatcherTest, ApiPathsNeverFallBackToTheWebClient) {
  EXPECT_EQ(send("GET", "/api/v2/whatever").status, 404);
  EXPECT_EQ(send("POST", "/some/page", {{"content-type", "application/json"}}, "{}").status, 404);
  Response head = send("HEAD", "/api/v1/ok");
  EXPECT_EQ(head.status, 200);  // HEAD is served by the GET route; the transport drops the body
}

TEST_F(DispatcherTest, BadQueryIs400) {
  EXPECT_EQ(send("GET", "/api/v1/ok?x=%zz").status, 400);
}

}  // namespace
}  // namespace parley::http
