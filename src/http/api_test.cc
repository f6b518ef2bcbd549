// Full-stack REST tests: http::Api over the real AuthService, ChatService and a SQLite file in a
// temporary directory (no sockets: the transport has its own tests in net/).
#include "http/api.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "auth/password_hasher.h"
#include "chat/publisher.h"
#include "http/middleware.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::http {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Reply {
  Response r;
  int status() const { return r.status; }
  std::string header(std::string_view name) const { return std::string(response_header(r, name)); }
  json::object body() const { return json::parse(r.body).as_object(); }
};

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : dir_(fs::temp_directory_path() / ("parley_api_" + std::to_string(std::random_device{}()))),
        clock_(),
        ids_(clock_, 1),
        hasher_(auth::PasswordHasherConfig{.threads = 1, .opslimit = 1, .memlimit_bytes = 8192}) {
    fs::create_directories(dir_);
    auto opened = store::SqliteStore::open(
        store::SqliteConfig{.path = (dir_ / "parley.db").string(), .synchronous = "normal",
                            .read_connections = 2},
        &metrics_);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened.value());
    auth_ = std::make_unique<auth::AuthService>(
        auth::AuthService::Deps{*store_, hasher_, clock_, ids_, publisher_}, auth::AuthConfig{});
    chat_ = std::make_unique<chat::ChatService>(
        chat::ChatService::Deps{*store_, publisher_, clock_, ids_}, chat::ChatConfig{});
    ops::HttpConfig config;
    config.max_body_bytes = 4096;
    api_ = std::make_unique<Api>(Api::Deps{*auth_, *chat_, *store_, clock_, metrics_}, config);
  }
  ~ApiTest() override {
    api_.reset();
    chat_.reset();
    auth_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  Reply call(std::string method, std::string target, std::string body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.headers.emplace_back("host", "chat.local");
    if (!req.body.empty()) req.headers.emplace_back("content-type", "application/json");
    req.client_ip = "127.0.0.1";
    std::promise<Response> p;
    auto f = p.get_future();
    api_->handle(std::move(req), [&p](Response r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return Reply{f.get()};
  }
  Reply as(const std::string& token, std::string method, std::string target, std::string body = "") {
    return call(std::move(method), std::move(target), std::move(body),
                {{"authorization", "Bearer " + token}});
  }

  // Registers and logs in; returns {token, user id}.
  std::pair<std::string, std::string> user(const std::string& name) {
    auto reg = call("POST", "/api/v1/auth/register",
                    R"({"username":")" + name + R"(","password":"correct horse"})");
    EXPECT_EQ(reg.status(), 201) << reg.r.body;
    auto login = call("POST", "/api/v1/auth/login",
                      R"({"username":")" + name + R"(","password":"correct horse"})");
    EXPECT_EQ(login.status(), 200) << login.r.body;
    auto b = login.body();
    return {std::string(b.at("token").as_string()), std::string(b.at("user").at("id").as_string())};
  }

  std::string room(const std::string& token, const std::string& name) {
    auto r = as(token, "POST", "/api/v1/rooms", R"({"name":")" + name + R"("})");
    EXPECT_EQ(r.status(), 201) << r.r.body;
    return std::string(r.body().at("room").at("id").as_string());
  }

  fs::path dir_;
  core::SystemClock clock_;
  core::IdGenerator ids_;
  ops::Registry metrics_;
  auth::PasswordHasher hasher_;
  chat::NullPublisher publisher_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<chat::ChatService> chat_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, RegisterLoginSetsAProtectedCookieAndTheTokenWorks) {
  call("POST", "/api/v1/auth/register", R"({"username":"Alice","password":"correct horse","email":"a@x.io"})");
  auto login = call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"correct horse"})");
  ASSERT_EQ(login.status(), 200) << login.r.body;
  std::string token(login.body().at("token").as_string());
  std::string cookie = login.header("set-cookie");
  EXPECT_EQ(cookie.rfind("parley_session=" + token + "; HttpOnly; SameSite=Lax; Path=/; Max-Age=", 0), 0u)
      << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);  // plain HTTP
  auto me = as(token, "GET", "/api/v1/users/me");
  ASSERT_EQ(me.status(), 200);
  EXPECT_EQ(me.body().at("user").at("username").as_string(), "alice");
  EXPECT_EQ(me.body().at("user").at("email").as_string(), "a@x.io");

  auto wrong = call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"nope nope"})");
  EXPECT_EQ(wrong.status(), 401);
  EXPECT_EQ(wrong.body().at("code").as_string(), "unauthorized");
}

TEST_F(ApiTest, LogoutRevokesTheTokenAndClearsTheCookie) {
  auto [token, id] = user("bob");
  auto out = as(token, "POST", "/api/v1/auth/logout");
  EXPECT_EQ(out.status(), 204);
  EXPECT_NE(out.header("set-cookie").find("parley_session=; "), std::string::npos);
  EXPECT_NE(out.header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(as(token, "GET", "/api/v1/users/me").status(), 401);
}

TEST_F(ApiTest, CookieMutationsNeedTheOwnOrigin) {
  auto [token, id] = user("carol");
  std::string cookie = "parley_session=" + token;
  auto cross = call("POST", "/api/v1/rooms", R"({"name":"x"})",
                    {{"cookie", cookie}, {"origin", "https://evil.example"}});
  EXPECT_EQ(cross.status(), 403);
  auto same = call("POST", "/api/v1/rooms", R"({"name":"x"})",
                   {{"cookie", cookie}, {"origin", "http://chat.local"}});
  EXPECT_EQ(same.status(), 201) << same.r.body;
  EXPECT_EQ(call("GET", "/api/v1/rooms", "", {{"cookie", cookie}}).status(), 200);
}

TEST_F(ApiTest, SendIsIdempotentAndHistoryPagesWithHasMore) {
  auto [token, id] = user("dave");
  std::string rid = room(token, "general");
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) {
    auto s = as(token, "POST", "/api/v1/rooms/" + rid + "/messages",
                R"({"client_txn_id":"t)" + std::to_string(i) + R"(","body":"m)" + std::to_string(i) + R"("})");
    ASSERT_EQ(s.status(), 201) << s.r.body;
    EXPECT_FALSE(s.body().at("duplicate").as_bool());
    ids.emplace_back(s.body().at("message").at("id").as_string());
  }
  auto again = as(token, "POST", "/api/v1/rooms/" + rid + "/messages", R"({"client_txn_id":"t3","body":"m3"})");
  EXPECT_EQ(again.status(), 200);
  EXPECT_TRUE(again.body().at("duplicate").as_bool());
  EXPECT_EQ(again.body().at("message").at("id").as_string(), ids[2]);

  auto newest = as(token, "GET", "/api/v1/rooms/" + rid + "/messages?limit=2").body();
  ASSERT_EQ(newest.at("messages").as_array().size(), 2u);
  EXPECT_EQ(newest.at("messages").as_array()[0].at("id").as_string(), ids[3]);
  EXPECT_EQ(newest.at("messages").as_array()[1].at("id").as_string(), ids[4]);
  EXPECT_TRUE(newest.at("has_more_before").as_bool());
  EXPECT_FALSE(newest.at("has_more_after").as_bool());

  auto older = as(token, "GET", "/api/v1/rooms/" + rid + "/messages?limit=3&before=" + ids[3]).body();
  ASSERT_EQ(older.at("messages").as_array().size(), 3u);
  EXPECT_EQ(older.at("messages").as_array()[0].at("id").as_string(), ids[0]);
  EXPECT_FALSE(older.at("has_more_before").as_bool());
  EXPECT_TRUE(older.at("has_more_after").as_bool());

  auto newer = as(token, "GET", "/api/v1/rooms/" + rid + "/messages?limit=2&after=" + ids[1]).body();
  ASSERT_EQ(newer.at("messages").as_array().size(), 2u);
  EXPECT_EQ(newer.at("messages").as_array()[0].at("id").as_string(), ids[2]);
  EXPECT_TRUE(newer.at("has_more_after").as_bool());
  EXPECT_TRUE(newer.at("has_more_before").as_bool());

  auto around = as(token, "GET", "/api/v1/rooms/" + rid + "/messages?limit=3&around=" + ids[2]).body();
  auto& msgs = around.at("messages").as_array();
  ASSERT_FALSE(msgs.empty());
  bool contains = false;
  for (auto& m : msgs) contains |= m.at("id").as_string() == ids[2];
  EXPECT_TRUE(contains);
  EXPECT_EQ(around.at("has_more_before").as_bool(), msgs.front().at("id").as_string() != ids[0]);
  EXPECT_EQ(around.at("has_more_after").as_bool(), msgs.back().at("id").as_string() != ids[4]);

  auto events = as(token, "GET", "/api/v1/rooms/" + rid + "/events?after_seq=0&limit=500");
  ASSERT_EQ(events.status(), 200);
  EXPECT_GE(events.body().at("events").as_array().size(), 5u);
}

TEST_F(ApiTest, BadQueryValuesAndIdsAre400) {
  auto [token, id] = user("erin");
  std::string rid = room(token, "r");
  for (std::string q : {"limit=0", "limit=101", "limit=x", "limit=", "limit=1.5",
                        "limit=99999999999999999999", "before=abc", "before=", "before=1&after=2"}) {
    auto r = as(token, "GET", "/api/v1/rooms/" + rid + "/messages?" + q);
    EXPECT_EQ(r.status(), 400) << q;
    EXPECT_EQ(r.body().at("code").as_string(), "invalid_argument") << q;
  }
  EXPECT_EQ(as(token, "GET", "/api/v1/rooms/abc").status(), 400);
  EXPECT_EQ(as(token, "GET", "/api/v1/rooms/" + rid + "/events?limit=501").status(), 400);
  EXPECT_EQ(as(token, "POST", "/api/v1/rooms", R"({"name":5})").status(), 400);
  EXPECT_EQ(as(token, "POST", "/api/v1/rooms", R"([1])").body().at("code").as_string(), "invalid_json");
  // Rooms you are not in are "not found".
  auto [other, oid] = user("frank");
  EXPECT_EQ(as(other, "GET", "/api/v1/rooms/" + rid).status(), 404);
}

TEST_F(ApiTest, DmIsCreatedOnceThenReturned) {
  auto [a, aid] = user("gina");
  auto [b, bid] = user("hank");
  auto first = as(a, "POST", "/api/v1/dms", R"({"user_id":")" + bid + R"("})");
  EXPECT_EQ(first.status(), 201) << first.r.body;
  // 201-vs-200 is inferred from the room's creation time until ChatService::open_dm reports
  // whether it created the room; a retry within the same millisecond would still say 201.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto second = as(b, "POST", "/api/v1/dms", R"({"user_id":")" + aid + R"("})");
  EXPECT_EQ(second.status(), 200) << second.r.body;
  EXPECT_EQ(first.body().at("room").at("id"), second.body().at("room").at("id"));
}

TEST_F(ApiTest, RoomUpdateMembersAndUsers) {
  auto [a, aid] = user("ivan");
  auto [b, bid] = user("judy");
  std::string rid = room(a, "team");
  auto add = as(a, "POST", "/api/v1/rooms/" + rid + "/members", R"({"user_id":")" + bid + R"("})");
  EXPECT_EQ(add.status(), 201) << add.r.body;
  EXPECT_EQ(add.body().at("event").at("type").as_string(), "member.joined");
  auto patch = as(a, "PATCH", "/api/v1/rooms/" + rid, R"({"topic":"planning"})");
  ASSERT_EQ(patch.status(), 200) << patch.r.body;
  EXPECT_EQ(patch.body().at("room").at("topic").as_string(), "planning");
  EXPECT_EQ(patch.body().at("event").at("type").as_string(), "room.updated");
  auto details = as(b, "GET", "/api/v1/rooms/" + rid).body();
  EXPECT_EQ(details.at("members").as_array().size(), 2u);
  EXPECT_EQ(as(b, "DELETE", "/api/v1/rooms/" + rid + "/members/" + bid).status(), 204);
  EXPECT_EQ(as(b, "GET", "/api/v1/rooms/" + rid).status(), 404);

  auto found = as(a, "GET", "/api/v1/users?q=ju").body();
  ASSERT_EQ(found.at("users").as_array().size(), 1u);
  EXPECT_FALSE(found.at("users").as_array()[0].as_object().contains("email"));  // not yours
  auto page = as(a, "GET", "/api/v1/users?limit=1").body();
  EXPECT_EQ(page.at("users").as_array().size(), 1u);
  EXPECT_TRUE(page.at("next").is_string());
  EXPECT_EQ(as(a, "GET", "/api/v1/users/" + bid).body().at("user").at("username").as_string(), "judy");
}

TEST_F(ApiTest, AdminRoutesAreForAdminsOnly) {
  auto [token, id] = user("kim");
  EXPECT_EQ(as(token, "GET", "/api/v1/admin/users").status(), 403);
  EXPECT_EQ(as(token, "POST", "/api/v1/admin/users", R"({"username":"zed","password":"correct horse"})").status(),
            403);

  std::promise<void> created;
  auth_->admin_create_user(auth::Actor{.role = core::Role::kAdmin},
                           auth::RegisterRequest{.username = "root", .password = "correct horse"},
                           core::Role::kAdmin, [&](core::Result<core::User> u) {
                             EXPECT_TRUE(u.ok());
                             created.set_value();
                           });
  created.get_future().wait();
  auto login = call("POST", "/api/v1/auth/login", R"({"username":"root","password":"correct horse"})");
  std::string admin(login.body().at("token").as_string());
  auto list = as(admin, "GET", "/api/v1/admin/users");
  ASSERT_EQ(list.status(), 200) << list.r.body;
  EXPECT_EQ(list.body().at("users").as_array().size(), 2u);
  auto off = as(admin, "PATCH", "/api/v1/admin/users/" + id, R"({"status":"deactivated"})");
  ASSERT_EQ(off.status(), 200) << off.r.body;
  EXPECT_EQ(off.body().at("user").at("status").as_string(), "deactivated");
  EXPECT_EQ(as(token, "GET", "/api/v1/users/me").status(), 401);
  EXPECT_EQ(as(admin, "PATCH", "/api/v1/admin/users/" + id, R"({"status":"sleeping"})").status(), 400);
}

TEST_F(ApiTest, OperationalEndpoints) {
  auto live = call("GET", "/livez");
  EXPECT_EQ(live.status(), 200);
  EXPECT_EQ(live.r.body, "ok\n");
  EXPECT_EQ(call("GET", "/readyz").status(), 200);
  api_->set_draining(true);
  EXPECT_EQ(call("GET", "/readyz").status(), 503);
  auto metrics = call("GET", "/metrics");
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(metrics.r.body.find("parley_http_requests_total{route=\"/readyz\",status=\"503\"} 1"),
            std::string::npos);
  auto doc = call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status(), 200);
  auto o = doc.body();
  EXPECT_EQ(o.at("openapi").as_string().subview().substr(0, 4), "3.1.");
  EXPECT_TRUE(o.at("paths").as_object().contains("/api/v1/rooms/{id}/messages"));
  EXPECT_EQ(doc.header("x-content-type-options"), "nosniff");
}

}  // namespace
}  // namespace parley::http
