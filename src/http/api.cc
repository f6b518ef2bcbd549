// http/api.cc: the REST routes of docs/protocol.md over the dispatcher (http/dispatcher.h).
// Each handler validates the shapes of its inputs (types, ids, query values), calls one
// service, and maps the result to JSON; the services own the domain rules (lengths, policy).
#include "http/api.h"

#include <algorithm>
#include <atomic>
#include <boost/json/array.hpp>
#include <charconv>
#include <limits>

#include "api/json.h"
#include "auth/policy.h"
#include "auth/rate_limiter.h"
#include "chat/search_query.h"
#include "http/dispatcher.h"
#include "http/files_routes.h"
#include "http/middleware.h"
#include "http/openapi_doc.h"

namespace parley::http {

namespace {

namespace json = boost::json;
using core::Errc;
using core::Id;
using core::make_error;
using Access = Dispatcher::Access;
using CallPtr = std::shared_ptr<Call>;

constexpr int kDefaultHistoryLimit = 50;
constexpr int kMaxHistoryLimit = 100;
constexpr int kDefaultEventsLimit = 100;
constexpr int kMaxEventsLimit = 500;
constexpr int kDefaultUsersLimit = 50;
constexpr int kMaxUsersLimit = 100;
constexpr int kDefaultSearchLimit = 20;
constexpr std::size_t kMaxDeviceBytes = 128;

core::Error bad(std::string what) { return make_error(Errc::kInvalidArgument, std::move(what)); }

// A path id: a positive decimal (core::parse_id).
core::Result<Id> path_id(const Call& c, std::string_view name) {
  auto id = core::parse_id(c.param(name));
  if (!id) return bad(std::string(name) + ": must be an id");
  return *id;
}

core::Result<Id> query_id(const Call& c, std::string_view key) {
  auto v = query_value(c.query(), key);
  if (!v) return Id{0};  // absent; present but empty ("before=") is malformed
  auto id = core::parse_id(*v);
  if (!id) return bad(std::string(key) + ": must be an id");
  return *id;
}

core::Result<std::int64_t> query_int(const Call& c, std::string_view key, std::int64_t dflt,
                                     std::int64_t lo, std::int64_t hi) {
  auto v = query_value(c.query(), key);
  if (!v) return dflt;  // absent; present but empty ("limit=") is malformed
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < lo || n > hi) {
    return bad(std::string(key) + ": must be an integer in " + std::to_string(lo) + ".." +
               std::to_string(hi));
  }
  return n;
}

core::Result<std::vector<Id>> get_id_array(const json::object& o, std::string_view key) {
  std::vector<Id> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array()) return bad(std::string(key) + ": must be an array of ids");
  for (const json::value& v : it->value().get_array()) {
    json::object one;
    one["v"] = v;
    auto id = api::get_id(one, "v");
    if (!id) return bad(std::string(key) + ": must be an array of ids");
    out.push_back(*id);
  }
  return out;
}

json::object wrap(std::string_view key, json::value v) {
  json::object o;
  o[key] = std::move(v);
  return o;
}

// Each item through api::to_json, as one JSON array (list responses).
template <class Range>
json::array to_json_array(const Range& items) {
  json::array a;
  a.reserve(std::size(items));
  for (const auto& item : items) a.push_back(api::to_json(item));
  return a;
}

std::string truncate_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

bool is_admin(const auth::Actor& a) {
  return auth::authorize(auth::Subject{a.user_id, a.role, std::nullopt},
                         auth::Action::kAdministerUsers)
      .ok();
}

core::Result<std::optional<bool>> optional_bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) {
    return make_error(Errc::kInvalidArgument, std::string(key) + ": must be a boolean");
  }
  return std::optional<bool>(v->get_bool());
}

// A seq: a JSON integer 0..2^53.
core::Result<std::optional<std::int64_t>> optional_seq(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::int64_t>();
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= (1LL << 53)) {
    return std::optional<std::int64_t>(v->get_int64());
  }
  if (v->is_uint64() && v->get_uint64() <= (1ULL << 53)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  }
  return make_error(Errc::kInvalidArgument, std::string(key) + ": must be an integer >= 0");
}

}  // namespace

static auth::RateLimiterConfig upload_limits(const files::FileService* files) {
  ops::FilesConfig f = files != nullptr ? files->config() : ops::FilesConfig{};
  return auth::RateLimiterConfig{.per_minute = f.uploads_per_minute, .burst = f.upload_burst};
}

struct Api::Impl {
  Impl(Deps d, ops::HttpConfig c)
      : deps(d),
        config(c),
        dispatcher(
            Dispatcher::Deps{
                .authenticate =
                    [&auth = d.auth](std::string token, store::Callback<auth::AuthContext> done) {
                      auth.authenticate(std::move(token), std::move(done));
                    },
                .metrics = d.metrics,
            },
            c),
        upload_limiter(d.clock, upload_limits(d.files)) {
    add_ops_routes();
    add_account_routes();
    add_room_routes();
    add_message_routes();
    add_live_routes();
    add_thread_routes();
    add_search_routes();
    add_admin_routes();
    if (d.files != nullptr) add_file_routes(dispatcher, *d.files);
  }

  void add_live_routes();
  void add_thread_routes();
  void add_search_routes();
  void add_ops_routes();
  void add_account_routes();
  void add_room_routes();
  void add_message_routes();
  void add_admin_routes();

  void get(std::string pattern, Access a, Dispatcher::Handler h) {
    dispatcher.add("GET", std::move(pattern), a, std::move(h));
  }
  void post(std::string pattern, Access a, Dispatcher::Handler h) {
    dispatcher.add("POST", std::move(pattern), a, std::move(h));
  }
  void patch(std::string pattern, Access a, Dispatcher::Handler h) {
    dispatcher.add("PATCH", std::move(pattern), a, std::move(h));
  }
  void del(std::string pattern, Access a, Dispatcher::Handler h) {
    dispatcher.add("DELETE", std::move(pattern), a, std::move(h));
  }

  // Secure when this request came over TLS, or when the public URL is https (TLS terminated
  // by a proxy in front of us).
  bool secure_cookie(const Call& c) const {
    return c.request().tls || config.public_url.rfind("https://", 0) == 0;
  }

  Deps deps;
  ops::HttpConfig config;
  std::atomic<bool> draining{false};
  Dispatcher dispatcher;
  auth::RateLimiter upload_limiter;  // upload requests per user (files.uploads_per_minute)
};

// --- operations: /livez, /readyz, /metrics, the OpenAPI document

void Api::Impl::add_ops_routes() {
  auto text = [](int status, std::string body, std::string type = "text/plain; charset=utf-8") {
    Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", std::move(type));
    r.body = std::move(body);
    return r;
  };
  get("/livez", Access::kPublic, [text](CallPtr c) { c->reply(text(200, "ok\n")); });
  get("/readyz", Access::kPublic, [this, text](CallPtr c) {
    if (draining.load()) return c->reply(text(503, "draining\n"));
    deps.store.ping([c, text](core::Result<core::Ok> r) {
      c->reply(r ? text(200, "ready\n") : text(503, "store unavailable\n"));
    });
  });
  get("/metrics", Access::kPublic, [this, text](CallPtr c) {
    c->reply(text(200, deps.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
  });
  get("/api/v1/openapi.json", Access::kPublic, [text](CallPtr c) {
    c->reply(text(200, std::string(openapi_document()), "application/json"));
  });
  // A plain GET here means the client did not ask for the WebSocket upgrade.
  get("/api/v1/gateway", Access::kPublic, [](CallPtr c) {
    c->fail(bad("expected a WebSocket upgrade request"));
  });
}

// --- accounts and sessions

void Api::Impl::add_account_routes() {
  post("/api/v1/auth/register", Access::kPublic, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auth::RegisterRequest req;
    auto username = api::get_string(*body, "username");
    auto password = api::get_string(*body, "password");
    auto email = api::get_optional_string(*body, "email");
    auto display = api::get_optional_string(*body, "display_name");
    auto invite = api::get_optional_string(*body, "invite_code");
    if (c->failed(username) || c->failed(password) || c->failed(email) || c->failed(display) ||
        c->failed(invite)) {
      return;
    }
    req.username = std::move(*username);
    req.password = std::move(*password);
    req.email = email->value_or("");
    req.display_name = display->value_or("");
    req.invite_code = invite->value_or("");
    req.ip = c->request().client_ip;
    deps.auth.register_user(std::move(req), [c](core::Result<core::User> u) {
      if (c->failed(u)) return;
      c->reply_json(201, wrap("user", api::to_json(*u, true)));
    });
  });

  post("/api/v1/auth/login", Access::kPublic, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto username = api::get_string(*body, "username");
    auto password = api::get_string(*body, "password");
    auto device = api::get_optional_string(*body, "device");
    if (c->failed(username) || c->failed(password) || c->failed(device)) return;
    auth::LoginRequest req;
    req.username = std::move(*username);
    req.password = std::move(*password);
    req.device = truncate_utf8(
        device->has_value() ? **device : std::string(c->request().header("user-agent")),
        kMaxDeviceBytes);
    req.ip = c->request().client_ip;
    deps.auth.login(std::move(req), [this, c](core::Result<auth::LoginResult> r) {
      if (c->failed(r)) return;
      json::object o;
      o["token"] = r->token;
      o["session_id"] = core::id_to_string(r->session.id);
      o["expires_at"] = r->session.expires_at;
      o["user"] = api::to_json(r->user, true);
      std::int64_t max_age_s = (r->session.expires_at - deps.clock.now_ms()) / 1000;
      c->reply_json(200, o, {{"Set-Cookie", session_cookie(r->token, max_age_s, secure_cookie(*c))}});
    });
  });

  post("/api/v1/auth/logout", Access::kAuthenticated, [this](CallPtr c) {
    deps.auth.logout(c->actor(), [this, c](core::Status s) {
      if (c->failed(s)) return;
      c->reply_empty(204, {{"Set-Cookie", clear_session_cookie(secure_cookie(*c))}});
    });
  });

  get("/api/v1/auth/sessions", Access::kAuthenticated, [this](CallPtr c) {
    deps.auth.list_sessions(c->actor(), [c](core::Result<std::vector<core::Session>> r) {
      if (c->failed(r)) return;
      json::array a;
      for (const auto& s : *r) a.push_back(api::to_json(s, c->actor().session_id));
      c->reply_json(200, wrap("sessions", std::move(a)));
    });
  });

  del("/api/v1/auth/sessions/{id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    deps.auth.revoke_session(c->actor(), *id, [c](core::Status s) {
      if (c->failed(s)) return;
      c->reply_empty(204);
    });
  });

  post("/api/v1/auth/password", Access::kAuthenticated, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto old_pw = api::get_string(*body, "old_password");
    auto new_pw = api::get_string(*body, "new_password");
    if (c->failed(old_pw) || c->failed(new_pw)) return;
    deps.auth.change_password(c->actor(), std::move(*old_pw), std::move(*new_pw),
                              [c](core::Status s) {
                                if (c->failed(s)) return;
                                c->reply_empty(204);
                              });
  });

  get("/api/v1/users/me", Access::kAuthenticated, [](CallPtr c) {
    c->reply_json(200, wrap("user", api::to_json(c->auth().user, true)));
  });

  patch("/api/v1/users/me", Access::kAuthenticated, [this](CallPtr c) {
    auto body = c->json_body(true);
    if (c->failed(body)) return;
    auto display = api::get_optional_string(*body, "display_name");
    auto email = api::get_optional_string(*body, "email");
    auto receipts = optional_bool(*body, "read_receipts");
    auto invisible = optional_bool(*body, "invisible");
    if (c->failed(display) || c->failed(email) || c->failed(receipts) || c->failed(invisible)) {
      return;
    }
    // Privacy settings (issue 3) go through the LiveService; the profile through AuthService.
    auto& live = deps.chat.live();
    auto settings = [&live, c, receipts = *receipts, invisible = *invisible](
                        core::Result<core::User> u) {
      if (c->failed(u)) return;
      if (!receipts && !invisible) return c->reply_json(200, wrap("user", api::to_json(*u, true)));
      live.update_settings(c->actor(), receipts, invisible, [c](core::Result<core::User> v) {
        if (c->failed(v)) return;
        c->reply_json(200, wrap("user", api::to_json(*v, true)));
      });
    };
    if (!*display && !*email && (*receipts || *invisible)) return settings(c->auth().user);
    deps.auth.update_profile(c->actor(), std::move(*display), std::move(*email),
                             std::move(settings));
  });

  get("/api/v1/users", Access::kAuthenticated, [this](CallPtr c) {
    auto after = query_id(*c, "after");
    auto limit = query_int(*c, "limit", kDefaultUsersLimit, 1, kMaxUsersLimit);
    if (c->failed(after) || c->failed(limit)) return;
    store::UserQuery q;
    q.prefix = std::string(query_value(c->query(), "q").value_or(""));
    q.after_id = *after;
    // One extra row tells whether another page exists. Deactivated users are filtered out
    // after paging, so a page may hold fewer than `limit` users while `next` is still set;
    // the cursor advances over the rows looked at, so no active user is ever skipped.
    q.limit = static_cast<int>(*limit) + 1;
    const auto n = static_cast<std::size_t>(*limit);
    deps.auth.list_users(q, [c, n](core::Result<std::vector<core::User>> r) {
      if (c->failed(r)) return;
      const bool more = r->size() > n;
      const std::size_t shown = std::min(n, r->size());
      const bool admin = is_admin(c->actor());
      json::array users;
      for (std::size_t i = 0; i < shown; ++i) {
        const core::User& u = (*r)[i];
        if (u.status != core::UserStatus::kActive) continue;
        users.push_back(api::to_json(u, admin || u.id == c->actor().user_id));
      }
      json::object o;
      o["users"] = std::move(users);
      o["next"] = more ? json::value(core::id_to_string((*r)[shown - 1].id)) : json::value(nullptr);
      c->reply_json(200, o);
    });
  });

  get("/api/v1/users/{id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    deps.store.user_by_id(*id, [c](core::Result<core::User> u) {
      if (!u) {
        if (u.error().code == Errc::kNotFound) return c->fail(make_error(Errc::kNotFound, "user not found"));
        return c->fail(u.error());
      }
      const bool with_private = is_admin(c->actor()) || u->id == c->actor().user_id;
      c->reply_json(200, wrap("user", api::to_json(*u, with_private)));
    });
  });
}

// --- rooms

void Api::Impl::add_room_routes() {
  get("/api/v1/rooms", Access::kAuthenticated, [this](CallPtr c) {
    deps.chat.list_rooms(c->actor(), [c](core::Result<std::vector<core::RoomSummary>> r) {
      if (c->failed(r)) return;
      c->reply_json(200, wrap("rooms", to_json_array(*r)));
    });
  });

  post("/api/v1/rooms", Access::kAuthenticated, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto name = api::get_string(*body, "name");
    auto topic = api::get_optional_string(*body, "topic");
    auto members = get_id_array(*body, "member_ids");
    if (c->failed(name) || c->failed(topic) || c->failed(members)) return;
    chat::CreateGroupRequest req;
    req.name = std::move(*name);
    req.topic = topic->value_or("");
    req.member_ids = std::move(*members);
    deps.chat.create_group(c->actor(), std::move(req), [c](core::Result<core::Room> r) {
      if (c->failed(r)) return;
      c->reply_json(201, wrap("room", api::to_json(*r)));
    });
  });

  post("/api/v1/dms", Access::kAuthenticated, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto peer = api::get_id(*body, "user_id");
    if (c->failed(peer)) return;
    deps.chat.open_dm(c->actor(), *peer, [c](core::Result<store::DmResult> r) {
      if (c->failed(r)) return;
      c->reply_json(r->created ? 201 : 200, wrap("room", api::to_json(r->room)));
    });
  });

  get("/api/v1/rooms/{id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    deps.chat.room(c->actor(), *id, [c](core::Result<chat::RoomDetails> r) {
      if (c->failed(r)) return;
      json::object o;
      o["room"] = api::to_json(r->room);
      json::array members;
      for (const auto& m : r->members) members.push_back(api::to_json(m));
      o["members"] = std::move(members);
      c->reply_json(200, o);
    });
  });

  patch("/api/v1/rooms/{id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body(true);
    if (c->failed(body)) return;
    auto name = api::get_optional_string(*body, "name");
    auto topic = api::get_optional_string(*body, "topic");
    auto pin_policy_name = api::get_optional_string(*body, "pin_policy");
    if (c->failed(name) || c->failed(topic) || c->failed(pin_policy_name)) return;
    chat::RoomUpdateRequest change{std::move(*name), std::move(*topic), std::nullopt};
    if (pin_policy_name->has_value()) {
      change.pin_policy = core::parse_pin_policy(**pin_policy_name);
      if (!change.pin_policy) return c->fail(bad("pin_policy: must be members or moderators"));
    }
    const Id room_id = *id;
    deps.chat.update_room(
        c->actor(), room_id, std::move(change),
        [this, c, room_id](core::Result<core::RoomEvent> e) {
          if (c->failed(e)) return;
          // The event carries the new name and topic; the room (with last_seq) is read back.
          deps.chat.room(c->actor(), room_id,
                         [c, event = std::move(e.value())](core::Result<chat::RoomDetails> r) {
                           if (c->failed(r)) return;
                           json::object o;
                           o["room"] = api::to_json(r->room);
                           o["event"] = api::to_json(event);
                           c->reply_json(200, o);
                         });
        });
  });

  post("/api/v1/rooms/{id}/members", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto user = api::get_id(*body, "user_id");
    if (c->failed(user)) return;
    deps.chat.add_member(c->actor(), *id, *user, [c](core::Result<core::RoomEvent> e) {
      if (c->failed(e)) return;
      c->reply_json(201, wrap("event", api::to_json(*e)));
    });
  });

  del("/api/v1/rooms/{id}/members/{user_id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto user = path_id(*c, "user_id");
    if (c->failed(user)) return;
    deps.chat.remove_member(c->actor(), *id, *user, [c](core::Result<core::RoomEvent> e) {
      if (c->failed(e)) return;
      c->reply_empty(204);
    });
  });
}

// --- messages

void Api::Impl::add_message_routes() {
  get("/api/v1/rooms/{id}/messages", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto before = query_id(*c, "before");
    auto after = query_id(*c, "after");
    auto around = query_id(*c, "around");
    auto limit = query_int(*c, "limit", kDefaultHistoryLimit, 1, kMaxHistoryLimit);
    if (c->failed(before) || c->failed(after) || c->failed(around) || c->failed(limit)) return;
    if ((*before != 0) + (*after != 0) + (*around != 0) > 1) {
      return c->fail(bad("use at most one of before, after, around"));
    }
    const auto n = static_cast<std::size_t>(*limit);
    store::HistoryQuery q;
    q.room_id = *id;
    q.before = *before;
    q.after = *after;
    q.around = *around;

    if (q.around == 0) {
      // has_more_*: we ask for limit + 1 messages. Getting the extra one proves that more
      // exist in the direction we page (older for none/before, newer for after); the extra
      // one is dropped from the reply. In the other direction the answer is known without a
      // query: a before/after cursor is itself a message on that side, and the newest page
      // has nothing newer.
      q.limit = static_cast<int>(n) + 1;
      const bool paging_forward = q.after != 0;
      const bool has_cursor = q.before != 0 || q.after != 0;
      deps.chat.history(c->actor(), q,
                        [c, n, paging_forward, has_cursor](core::Result<std::vector<core::Message>> r) {
                          if (c->failed(r)) return;
                          std::vector<core::Message>& m = *r;
                          const bool extra = m.size() > n;
                          if (extra) {
                            // Ascending by seq: the extra one is the oldest when paging back,
                            // the newest when paging forward.
                            if (paging_forward) {
                              m.pop_back();
                            } else {
                              m.erase(m.begin());
                            }
                          }
                          json::array a = to_json_array(m);
                          json::object o;
                          o["messages"] = std::move(a);
                          o["has_more_before"] = paging_forward ? has_cursor : extra;
                          o["has_more_after"] = paging_forward ? extra : has_cursor;
                          c->reply_json(200, o);
                        });
      return;
    }
    // `around` centres the window on a message, so an extra row would not say on which side
    // more exist. Instead, after the window is read, one probe per side asks for a single
    // message beyond each end.
    q.limit = static_cast<int>(n);
    deps.chat.history(c->actor(), q, [this, c, q](core::Result<std::vector<core::Message>> r) {
      if (c->failed(r)) return;
      auto window = std::make_shared<std::vector<core::Message>>(std::move(r.value()));
      if (window->empty()) {
        json::object o;
        o["messages"] = json::array();
        o["has_more_before"] = false;
        o["has_more_after"] = false;
        return c->reply_json(200, o);
      }
      store::HistoryQuery older{.room_id = q.room_id, .before = window->front().id, .limit = 1};
      store::HistoryQuery newer{.room_id = q.room_id, .after = window->back().id, .limit = 1};
      deps.chat.history(
          c->actor(), older,
          [this, c, window, newer](core::Result<std::vector<core::Message>> before) {
            if (c->failed(before)) return;
            const bool more_before = !before->empty();
            deps.chat.history(
                c->actor(), newer,
                [c, window, more_before](core::Result<std::vector<core::Message>> after) {
                  if (c->failed(after)) return;
                  json::array a = to_json_array(*window);
                  json::object o;
                  o["messages"] = std::move(a);
                  o["has_more_before"] = more_before;
                  o["has_more_after"] = !after->empty();
                  c->reply_json(200, o);
                });
          });
    });
  });

  post("/api/v1/rooms/{id}/messages", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto txn = api::get_string(*body, "client_txn_id");
    auto reply_to = api::get_optional_id(*body, "reply_to");
    auto thread_root = api::get_optional_id(*body, "thread_root");
    auto attachments = api::get_id_list(*body, "attachments", store::kMaxAttachmentsPerMessage);
    if (c->failed(txn) || c->failed(reply_to) || c->failed(thread_root) ||
        c->failed(attachments)) {
      return;
    }
    // "body" may be left out of a message that carries attachments.
    auto text = body->contains("body") || attachments->empty()
                    ? api::get_string(*body, "body")
                    : core::Result<std::string>(std::string());
    if (c->failed(text)) return;
    chat::SendRequest req;
    req.room_id = *id;
    req.client_txn_id = std::move(*txn);
    req.body = std::move(*text);
    req.reply_to = reply_to->value_or(0);
    req.thread_root = thread_root->value_or(0);
    req.attachment_ids = std::move(*attachments);
    deps.chat.send(c->actor(), std::move(req), [c](core::Result<store::AppendResult> r) {
      if (c->failed(r)) return;
      if (!r->event.message) return c->fail(make_error(Errc::kInternal, "send: event without message"));
      json::object o;
      o["message"] = api::to_json(*r->event.message);
      o["duplicate"] = r->duplicate;
      c->reply_json(r->duplicate ? 200 : 201, o);
    });
  });

  patch("/api/v1/rooms/{id}/messages/{message_id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto mid = path_id(*c, "message_id");
    if (c->failed(mid)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto text = api::get_string(*body, "body");
    if (c->failed(text)) return;
    deps.chat.edit(c->actor(), *id, *mid, std::move(*text), [c](core::Result<core::RoomEvent> e) {
      if (c->failed(e)) return;
      if (!e->message) return c->fail(make_error(Errc::kInternal, "edit: event without message"));
      json::object o;
      o["message"] = api::to_json(*e->message);
      o["event"] = api::to_json(*e);
      c->reply_json(200, o);
    });
  });

  del("/api/v1/rooms/{id}/messages/{message_id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto mid = path_id(*c, "message_id");
    if (c->failed(mid)) return;
    deps.chat.remove_message(c->actor(), *id, *mid, [c](core::Result<core::RoomEvent> e) {
      if (c->failed(e)) return;
      c->reply_empty(204);
    });
  });

  get("/api/v1/rooms/{id}/events", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto after_seq = query_int(*c, "after_seq", 0, 0, std::numeric_limits<std::int64_t>::max());
    auto limit = query_int(*c, "limit", kDefaultEventsLimit, 1, kMaxEventsLimit);
    if (c->failed(after_seq) || c->failed(limit)) return;
    deps.chat.events_since(c->actor(), *id, *after_seq, static_cast<int>(*limit),
                           [c](core::Result<std::vector<core::RoomEvent>> r) {
                             if (c->failed(r)) return;
                             c->reply_json(200, wrap("events", to_json_array(*r)));
                           });
  });
}

// --- administration

// Read markers, receipts and reactions (issue 3; docs/protocol.md, "Read state and receipts").
void Api::Impl::add_live_routes() {
  auto read_reply = [](CallPtr c) {
    return [c](core::Result<core::ReadState> r) {
      if (c->failed(r)) return;
      c->reply_json(200, wrap("read", api::to_json(*r)));
    };
  };

  post("/api/v1/rooms/{id}/read", Access::kAuthenticated, [this, read_reply](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body(true);
    if (c->failed(body)) return;
    auto seq = optional_seq(*body, "seq");
    if (c->failed(seq)) return;
    deps.chat.live().mark_read(c->actor(), *id, *seq, read_reply(c));
  });

  post("/api/v1/rooms/{id}/unread", Access::kAuthenticated, [this, read_reply](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto mid = api::get_id(*body, "message_id");
    if (c->failed(mid)) return;
    deps.chat.live().mark_unread(c->actor(), *id, *mid, read_reply(c));
  });

  post("/api/v1/rooms/{id}/delivered", Access::kAuthenticated, [this, read_reply](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto seq = optional_seq(*body, "seq");
    if (c->failed(seq)) return;
    if (!*seq) return c->fail(make_error(Errc::kInvalidArgument, "seq: required"));
    deps.chat.live().delivered(c->actor(), *id, **seq, read_reply(c));
  });

  post("/api/v1/users/me/read-all", Access::kAuthenticated, [this](CallPtr c) {
    deps.chat.live().mark_all_read(c->actor(), [c](core::Result<std::vector<core::ReadState>> r) {
      if (c->failed(r)) return;
      c->reply_json(200, wrap("rooms", to_json_array(*r)));
    });
  });

  get("/api/v1/rooms/{id}/messages/{message_id}/receipts", Access::kAuthenticated,
      [this](CallPtr c) {
        auto id = path_id(*c, "id");
        if (c->failed(id)) return;
        auto mid = path_id(*c, "message_id");
        if (c->failed(mid)) return;
        deps.chat.live().receipts(c->actor(), *id, *mid,
                                  [c](core::Result<core::MessageReceipts> r) {
                                    if (c->failed(r)) return;
                                    c->reply_json(200, api::to_json(*r));
                                  });
      });

  post("/api/v1/rooms/{id}/messages/{message_id}/reactions", Access::kAuthenticated,
       [this](CallPtr c) {
         auto id = path_id(*c, "id");
         if (c->failed(id)) return;
         auto mid = path_id(*c, "message_id");
         if (c->failed(mid)) return;
         auto body = c->json_body();
         if (c->failed(body)) return;
         auto emoji = api::get_string(*body, "emoji");
         auto add = optional_bool(*body, "add");
         if (c->failed(emoji) || c->failed(add)) return;
         deps.chat.live().react(c->actor(), *id, *mid, std::move(*emoji), add->value_or(true),
                                [c](core::Result<store::ReactionResult> r) {
                                  if (c->failed(r)) return;
                                  json::object o;
                                  o["changed"] = r->changed;
                                  o["event"] = r->changed ? json::value(api::to_json(r->event))
                                                          : json::value(nullptr);
                                  c->reply_json(200, o);
                                });
       });
}

// Pins, threads and edit history (issue 3; docs/protocol.md, "Pins, threads and edit history").
void Api::Impl::add_thread_routes() {
  auto pin_reply = [](CallPtr c) {
    return [c](core::Result<store::PinResult> r) {
      if (c->failed(r)) return;
      json::object o;
      o["changed"] = r->changed;
      o["event"] = r->changed ? json::value(api::to_json(r->event)) : json::value(nullptr);
      c->reply_json(200, o);
    };
  };

  get("/api/v1/rooms/{id}/pins", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    deps.chat.threads().pins(c->actor(), *id, [c](core::Result<std::vector<core::Pin>> r) {
      if (c->failed(r)) return;
      c->reply_json(200, wrap("pins", to_json_array(*r)));
    });
  });

  post("/api/v1/rooms/{id}/pins", Access::kAuthenticated, [this, pin_reply](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto mid = api::get_id(*body, "message_id");
    if (c->failed(mid)) return;
    deps.chat.threads().pin(c->actor(), *id, *mid, true, pin_reply(c));
  });

  del("/api/v1/rooms/{id}/pins/{message_id}", Access::kAuthenticated, [this, pin_reply](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto mid = path_id(*c, "message_id");
    if (c->failed(mid)) return;
    deps.chat.threads().pin(c->actor(), *id, *mid, false, pin_reply(c));
  });

  get("/api/v1/rooms/{id}/threads/{root_id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto root = path_id(*c, "root_id");
    if (c->failed(root)) return;
    auto before = query_id(*c, "before");
    auto after = query_id(*c, "after");
    auto limit = query_int(*c, "limit", kDefaultHistoryLimit, 1, kMaxHistoryLimit);
    if (c->failed(before) || c->failed(after) || c->failed(limit)) return;
    if (*before != 0 && *after != 0) return c->fail(bad("use at most one of before, after"));
    store::HistoryQuery q;
    q.room_id = *id;
    q.thread_root = *root;
    q.before = *before;
    q.after = *after;
    // One extra reply tells whether more exist in the paging direction (as room history).
    const auto n = static_cast<std::size_t>(*limit);
    q.limit = static_cast<int>(n) + 1;
    const bool paging_forward = q.after != 0;
    const bool has_cursor = q.before != 0 || q.after != 0;
    deps.chat.threads().thread(
        c->actor(), q, [c, n, paging_forward, has_cursor](core::Result<chat::ThreadPage> r) {
          if (c->failed(r)) return;
          std::vector<core::Message>& m = r->replies;
          const bool extra = m.size() > n;
          if (extra) {
            if (paging_forward) {
              m.pop_back();
            } else {
              m.erase(m.begin());
            }
          }
          json::array a = to_json_array(m);
          json::object o;
          o["root"] = api::to_json(r->root);
          o["messages"] = std::move(a);
          o["following"] = r->following;
          o["has_more_before"] = paging_forward ? has_cursor : extra;
          o["has_more_after"] = paging_forward ? extra : has_cursor;
          c->reply_json(200, o);
        });
  });

  auto follow_route = [this](bool follow) {
    return [this, follow](CallPtr c) {
      auto id = path_id(*c, "id");
      if (c->failed(id)) return;
      auto root = path_id(*c, "root_id");
      if (c->failed(root)) return;
      deps.chat.threads().follow(c->actor(), *id, *root, follow, [c](core::Result<bool> r) {
        if (c->failed(r)) return;
        c->reply_json(200, wrap("following", *r));
      });
    };
  };
  post("/api/v1/rooms/{id}/threads/{root_id}/follow", Access::kAuthenticated, follow_route(true));
  del("/api/v1/rooms/{id}/threads/{root_id}/follow", Access::kAuthenticated, follow_route(false));

  post("/api/v1/rooms/{id}/threads/{root_id}/read", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto root = path_id(*c, "root_id");
    if (c->failed(root)) return;
    auto body = c->json_body(true);
    if (c->failed(body)) return;
    auto seq = optional_seq(*body, "seq");
    if (c->failed(seq)) return;
    deps.chat.threads().mark_thread_read(c->actor(), *id, *root, *seq,
                                         [c](core::Result<core::FollowedThread> r) {
                                           if (c->failed(r)) return;
                                           c->reply_json(200, wrap("thread", api::to_json(*r)));
                                         });
  });

  get("/api/v1/users/me/threads", Access::kAuthenticated, [this](CallPtr c) {
    auto limit = query_int(*c, "limit", kDefaultHistoryLimit, 1, store::kMaxFollowedThreadsLimit);
    if (c->failed(limit)) return;
    deps.chat.threads().followed_threads(
        c->actor(), static_cast<int>(*limit),
        [c](core::Result<std::vector<core::FollowedThread>> r) {
          if (c->failed(r)) return;
          c->reply_json(200, wrap("threads", to_json_array(*r)));
        });
  });

  get("/api/v1/rooms/{id}/messages/{message_id}/revisions", Access::kAuthenticated,
      [this](CallPtr c) {
        auto id = path_id(*c, "id");
        if (c->failed(id)) return;
        auto mid = path_id(*c, "message_id");
        if (c->failed(mid)) return;
        deps.chat.threads().edit_history(c->actor(), *id, *mid,
                                         [c](core::Result<chat::EditHistory> r) {
                                           if (c->failed(r)) return;
                                           json::array a = to_json_array(r->revisions);
                                           json::object o;
                                           o["message"] = api::to_json(r->message);
                                           o["revisions"] = std::move(a);
                                           c->reply_json(200, o);
                                         });
      });
}

// Full-text search (issue 4; docs/search.md).
void Api::Impl::add_search_routes() {
  get("/api/v1/search", Access::kAuthenticated, [this](CallPtr c) {
    auto q = query_value(c->query(), "q");
    if (!q) return c->fail(bad("q: required (the search query; see docs/search.md)"));
    chat::SearchRequest req;
    req.q = std::string(*q);
    const auto sort = query_value(c->query(), "sort").value_or("relevance");
    if (sort == "recent") {
      req.order = store::SearchOrder::kRecent;
    } else if (sort != "relevance") {
      return c->fail(bad("sort: must be relevance or recent"));
    }
    req.cursor = std::string(query_value(c->query(), "cursor").value_or(""));
    auto limit = query_int(*c, "limit", kDefaultSearchLimit, 1, store::kMaxSearchLimit);
    auto tz = query_int(*c, "tz_offset", 0, -chat::kMaxTzOffsetMinutes, chat::kMaxTzOffsetMinutes);
    if (c->failed(limit) || c->failed(tz)) return;
    req.limit = static_cast<int>(*limit);
    req.tz_offset_minutes = static_cast<int>(*tz);
    deps.chat.search().search(c->actor(), std::move(req), [c](core::Result<chat::SearchResult> r) {
      if (c->failed(r)) return;
      json::array results;
      for (const chat::SearchResultHit& h : r->hits) {
        json::object room;
        room["id"] = core::id_to_string(h.hit.message.room_id);
        room["kind"] = core::to_string(h.hit.room_kind);
        room["name"] = h.hit.room_name;
        json::object o;
        o["message"] = api::to_json(h.hit.message);
        o["room"] = std::move(room);
        o["snippet"] = h.snippet_html;
        results.push_back(std::move(o));
      }
      json::object o;
      o["results"] = std::move(results);
      o["next"] = r->next.empty() ? json::value(nullptr) : json::value(r->next);
      c->reply_json(200, o);
    });
  });
}

void Api::Impl::add_admin_routes() {
  get("/api/v1/admin/users", Access::kAuthenticated, [this](CallPtr c) {
    // AuthService::list_users takes no actor (the CLI uses it too), so the policy is asked here.
    if (!is_admin(c->actor())) return c->fail(make_error(Errc::kForbidden, "admins only"));
    auto after = query_id(*c, "after");
    auto limit = query_int(*c, "limit", kDefaultUsersLimit, 1, kMaxUsersLimit);
    if (c->failed(after) || c->failed(limit)) return;
    store::UserQuery q;
    q.prefix = std::string(query_value(c->query(), "q").value_or(""));
    q.after_id = *after;
    q.limit = static_cast<int>(*limit) + 1;  // one extra: is there a next page?
    const auto n = static_cast<std::size_t>(*limit);
    deps.auth.list_users(q, [c, n](core::Result<std::vector<core::User>> r) {
      if (c->failed(r)) return;
      const bool more = r->size() > n;
      if (more) r->resize(n);
      json::array users;
      for (const auto& u : *r) users.push_back(api::to_json(u, true));
      json::object o;
      o["users"] = std::move(users);
      o["next"] = more ? json::value(core::id_to_string(r->back().id)) : json::value(nullptr);
      c->reply_json(200, o);
    });
  });

  post("/api/v1/admin/users", Access::kAuthenticated, [this](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto username = api::get_string(*body, "username");
    auto password = api::get_string(*body, "password");
    auto email = api::get_optional_string(*body, "email");
    auto display = api::get_optional_string(*body, "display_name");
    auto role_name = api::get_optional_string(*body, "role");
    if (c->failed(username) || c->failed(password) || c->failed(email) || c->failed(display) ||
        c->failed(role_name)) {
      return;
    }
    core::Role role = core::Role::kUser;
    if (role_name->has_value()) {
      auto parsed = core::parse_role(**role_name);
      if (!parsed) return c->fail(bad("role: must be user or admin"));
      role = *parsed;
    }
    auth::RegisterRequest req;
    req.username = std::move(*username);
    req.password = std::move(*password);
    req.email = email->value_or("");
    req.display_name = display->value_or("");
    req.ip = c->request().client_ip;
    deps.auth.admin_create_user(c->actor(), std::move(req), role, [c](core::Result<core::User> u) {
      if (c->failed(u)) return;
      c->reply_json(201, wrap("user", api::to_json(*u, true)));
    });
  });

  patch("/api/v1/admin/users/{id}", Access::kAuthenticated, [this](CallPtr c) {
    auto id = path_id(*c, "id");
    if (c->failed(id)) return;
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto role_name = api::get_optional_string(*body, "role");
    auto status_name = api::get_optional_string(*body, "status");
    if (c->failed(role_name) || c->failed(status_name)) return;
    std::optional<core::Role> role;
    if (role_name->has_value()) {
      role = core::parse_role(**role_name);
      if (!role) return c->fail(bad("role: must be user or admin"));
    }
    bool deactivate = false;
    if (status_name->has_value()) {
      if (**status_name == "deactivated") {
        deactivate = true;
      } else if (**status_name != "active") {
        return c->fail(bad("status: must be active or deactivated"));
      }
    }
    if (!role && !status_name->has_value()) return c->fail(bad("nothing to change: give role or status"));
    const Id user_id = *id;
    // Step 2: deactivate if asked (after the role, so one request can do both), else reply
    // with the user as it is now. Reactivating is not supported yet: "active" is accepted only
    // for a user who is active.
    auto finish = [this, c, user_id, deactivate, wants_active = status_name->has_value() && !deactivate](
                      core::Result<core::User> u) {
      if (c->failed(u)) return;
      if (deactivate) {
        return deps.auth.admin_deactivate(c->actor(), user_id, [c](core::Result<core::User> d) {
          if (c->failed(d)) return;
          c->reply_json(200, wrap("user", api::to_json(*d, true)));
        });
      }
      if (wants_active && u->status != core::UserStatus::kActive) {
        return c->fail(bad("status: reactivating a user is not supported yet"));
      }
      c->reply_json(200, wrap("user", api::to_json(*u, true)));
    };
    if (role) return deps.auth.admin_set_role(c->actor(), user_id, *role, std::move(finish));
    // No role change: the admin check still has to happen before anything is revealed.
    if (!is_admin(c->actor())) return c->fail(make_error(Errc::kForbidden, "admins only"));
    deps.store.user_by_id(user_id, std::move(finish));
  });
}

// --- Api

Api::Api(Deps deps, ops::HttpConfig config)
    : impl_(std::make_unique<Impl>(deps, std::move(config))) {}

Api::~Api() = default;

void Api::handle(Request req, std::function<void(Response)> respond) {
  impl_->dispatcher.handle(std::move(req), std::move(respond));
}

void Api::set_draining(bool draining) { impl_->draining.store(draining); }

std::optional<BodySink> Api::body_sink(const Request& head) const {
  files::FileService* files = impl_->deps.files;
  if (files == nullptr) return std::nullopt;
  const std::string_view path = split_target(head.target).first;
  const bool one_shot = head.method == "POST" && path == kUploadPath;
  // PATCH /api/v1/uploads/{id}: a resumable upload's chunk.
  const std::string_view prefix = "/api/v1/uploads/";
  const bool chunk = head.method == "PATCH" && path.size() > prefix.size() &&
                     path.substr(0, prefix.size()) == prefix &&
                     path.find('/', prefix.size()) == std::string_view::npos;
  if (!one_shot && !chunk) return std::nullopt;
  // Streamed even without credentials: admit() refuses those (401) before reading the body.
  return BodySink{files->staging_dir(), static_cast<std::uint64_t>(files->max_upload_bytes())};
}

void Api::admit(Request head, std::function<void(std::optional<Response>)> done) {
  files::FileService* files = impl_->deps.files;
  if (files == nullptr) return done(std::nullopt);
  impl_->dispatcher.admit(
      std::move(head),
      [files, &limiter = impl_->upload_limiter](std::shared_ptr<Call> c, std::function<void()> ok) {
        admit_upload(*files, limiter, std::move(c), std::move(ok));
      },
      std::move(done));
}

std::uint64_t Api::max_sink_bytes() const {
  files::FileService* files = impl_->deps.files;
  return files == nullptr ? 0 : static_cast<std::uint64_t>(files->max_upload_bytes());
}

}  // namespace parley::http
