#include "http/dispatcher.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <boost/json/serialize.hpp>
#include <exception>
#include <random>

#include "api/json.h"
#include "http/problem.h"
#include "ops/log.h"

namespace parley::http {

using core::Errc;
using core::make_error;

// Metrics of one route pattern. Counters per status are registered lazily (the Registry
// dedups and locks) and then cached here, so the hot path is one atomic load.
struct Call::RouteStats {
  RouteStats(ops::Registry& registry, std::string p)
      : pattern(std::move(p)),
        metrics(registry),
        seconds(registry.histogram("parley_http_request_seconds",
                                   "HTTP request latency by route pattern",
                                   ops::latency_buckets(), "route=\"" + pattern + "\"")) {}

  ops::Counter& counter(int status) {
    if (status < 100 || status > 599) status = 500;
    auto& slot = by_status[static_cast<std::size_t>(status - 100)];
    ops::Counter* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &metrics.counter("parley_http_requests_total", "HTTP requests by route pattern and status",
                           "route=\"" + pattern + "\",status=\"" + std::to_string(status) + "\"");
      slot.store(c, std::memory_order_release);
    }
    return *c;
  }

  std::string pattern;
  ops::Registry& metrics;
  ops::Histogram& seconds;
  std::array<std::atomic<ops::Counter*>, 500> by_status{};
};

struct Dispatcher::Route {
  Access access = Access::kPublic;
  Handler handler;
  std::unique_ptr<Call::RouteStats> stats;
};

// --- Call

core::Result<boost::json::object> Call::json_body(bool empty_ok) const {
  if (empty_ok && req_.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return boost::json::object();
  }
  return api::parse_object(req_.body);
}

void Call::reply_json(int status, const boost::json::object& body,
                      std::vector<std::pair<std::string, std::string>> extra_headers) {
  Response r;
  r.status = status;
  r.headers = std::move(extra_headers);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = boost::json::serialize(body);
  reply(std::move(r));
}

void Call::reply_empty(int status, std::vector<std::pair<std::string, std::string>> extra_headers) {
  Response r;
  r.status = status;
  r.headers = std::move(extra_headers);
  reply(std::move(r));
}

void Call::reply(Response r) {
  if (done_.exchange(true)) return;
  dispatcher_->finish(*this, std::move(r));
}

void Call::fail(const core::Error& e) {
  if (e.code == Errc::kInternal) {
    ops::log_error("http internal error",
                   {{"request_id", request_id_}, {"route", std::string(route_)}, {"detail", e.message}});
    // The detail of a bug is for the operator's log, not for the client.
    reply(problem_response(make_error(Errc::kInternal, "internal error"), request_id_));
    return;
  }
  reply(problem_response(e, request_id_));
}

// --- Dispatcher

Dispatcher::Dispatcher(Deps deps, ops::HttpConfig config)
    : deps_(std::move(deps)),
      config_(std::move(config)),
      rate_limited_(deps_.metrics.counter("parley_rate_limited_total",
                                          "Requests refused by a rate limit", "where=\"http\"")) {
  static_stats_ = std::make_unique<Call::RouteStats>(deps_.metrics, "static");
  unmatched_stats_ = std::make_unique<Call::RouteStats>(deps_.metrics, "unmatched");
  if (!config_.web_root.empty()) {
    static_files_ = std::make_unique<StaticFiles>(StaticFilesConfig{.root = config_.web_root});
  }
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  id_prefix_ = "r-";
  for (int i = 0; i < 8; ++i) id_prefix_.push_back(kHex[rd() & 15]);
  id_prefix_.push_back('-');
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::add(std::string method, std::string pattern, Access access, Handler handler) {
  auto route = std::make_unique<Route>();
  route->access = access;
  route->handler = std::move(handler);
  route->stats = std::make_unique<Call::RouteStats>(deps_.metrics, pattern);
  router_.add(std::move(method), std::move(pattern), routes_.size());
  routes_.push_back(std::move(route));
}

std::string Dispatcher::make_request_id() {
  // Unique per process run: a random prefix and a counter (ids need not be secret).
  std::uint64_t n = id_counter_.fetch_add(1, std::memory_order_relaxed);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = id_prefix_;
  char buf[16];
  int len = 0;
  do {
    buf[len++] = kHex[n & 15];
    n >>= 4;
  } while (n != 0);
  while (len > 0) s.push_back(buf[--len]);
  return s;
}

void Dispatcher::handle(Request req, std::function<void(Response)> respond) {
  auto call = std::shared_ptr<Call>(new Call());
  call->dispatcher_ = this;
  call->start_ = std::chrono::steady_clock::now();
  call->respond_ = std::move(respond);
  std::string_view client_id = req.header("x-request-id");
  call->request_id_ = valid_request_id(client_id) ? std::string(client_id) : make_request_id();
  call->req_ = std::move(req);
  const Request& r = call->req_;

  auto [raw_path, raw_query] = split_target(r.target);
  std::string path(raw_path);
  std::string_view lookup_method = r.method == "HEAD" ? std::string_view("GET") : r.method;
  Router::Lookup found = path.empty() || path.front() != '/'
                             ? Router::Lookup{}
                             : router_.match(lookup_method, path);

  if (!found.match) {
    const bool api_path = path.rfind("/api/", 0) == 0 || path == "/api";
    const bool get = r.method == "GET" || r.method == "HEAD";
    if (static_files_ && get && !api_path && !path.empty() && path.front() == '/') {
      call->stats_ = static_stats_.get();
      call->route_ = "static";
      call->web_page_ = true;
      try {
        auto served = static_files_->serve(r, path);
        if (call->failed(served)) return;
        call->reply(std::move(served.value()));
      } catch (const std::exception& e) {
        call->fail(make_error(Errc::kInternal, e.what()));
      }
      return;
    }
    call->stats_ = unmatched_stats_.get();
    call->route_ = "unmatched";
    return call->fail(make_error(Errc::kNotFound, found.path_known ? "method not allowed on this route"
                                                                   : "no such route"));
  }

  Route& route = *routes_[found.match->id];
  call->stats_ = route.stats.get();
  call->route_ = route.stats->pattern;
  call->params_ = std::move(found.match->params);

  if (r.body.size() > config_.max_body_bytes) {
    return call->fail(make_error(Errc::kTooLarge, "request body over " +
                                                      std::to_string(config_.max_body_bytes) +
                                                      " bytes"));
  }
  auto query = parse_query(raw_query);

  // Input checks come after authentication on authenticated routes: a client without valid
  // credentials learns nothing from them (401 first).
  auto run = [call, &route, query = std::move(query)]() mutable {
    const Request& r = call->req_;
    if (is_mutation(r.method) && !r.body.empty() &&
        !is_json_content_type(r.header("content-type"))) {
      return call->fail(make_error(Errc::kInvalidArgument, "Content-Type must be application/json"));
    }
    if (!query) return call->fail(make_error(Errc::kInvalidArgument, "malformed query string"));
    call->query_ = std::move(*query);
    try {
      route.handler(call);
    } catch (const std::exception& e) {
      call->fail(make_error(Errc::kInternal, e.what()));
    }
  };

  if (route.access == Access::kPublic) return run();

  Credentials creds = credentials(r);
  if (creds.token.empty()) return call->fail(make_error(Errc::kUnauthorized, "missing credentials"));
  call->cookie_auth_ = creds.from_cookie;
  if (creds.from_cookie && is_mutation(r.method) &&
      !same_origin_request(r, config_.allowed_origins, config_.public_url)) {
    return call->fail(make_error(Errc::kForbidden, "cross-origin request refused (CSRF check)"));
  }
  deps_.authenticate(std::move(creds.token),
                     [call, run = std::move(run)](core::Result<auth::AuthContext> ctx) mutable {
                       if (call->failed(ctx)) return;
                       call->auth_ = std::move(ctx.value());
                       run();
                     });
}

void Dispatcher::admit(Request req, Check check,
                       std::function<void(std::optional<Response>)> done) {
  auto shared_done = std::make_shared<std::function<void(std::optional<Response>)>>(std::move(done));
  auto call = std::shared_ptr<Call>(new Call());
  call->dispatcher_ = this;
  call->start_ = std::chrono::steady_clock::now();
  call->respond_ = [shared_done](Response r) { (*shared_done)(std::move(r)); };
  std::string_view client_id = req.header("x-request-id");
  call->request_id_ = valid_request_id(client_id) ? std::string(client_id) : make_request_id();
  call->req_ = std::move(req);
  const Request& r = call->req_;
  auto admit_now = [call, shared_done] {
    if (call->done_.exchange(true)) return;
    (*shared_done)(std::nullopt);
  };

  auto [raw_path, raw_query] = split_target(r.target);
  std::string path(raw_path);
  Router::Lookup found = path.empty() || path.front() != '/' ? Router::Lookup{}
                                                             : router_.match(r.method, path);
  if (!found.match) return admit_now();
  Route& route = *routes_[found.match->id];
  if (route.access == Access::kPublic) return admit_now();
  call->stats_ = route.stats.get();
  call->route_ = route.stats->pattern;
  call->params_ = std::move(found.match->params);
  auto query = parse_query(raw_query);
  if (query) call->query_ = std::move(*query);

  Credentials creds = credentials(r);
  if (creds.token.empty()) return call->fail(make_error(Errc::kUnauthorized, "missing credentials"));
  call->cookie_auth_ = creds.from_cookie;
  if (creds.from_cookie && is_mutation(r.method) &&
      !same_origin_request(r, config_.allowed_origins, config_.public_url)) {
    return call->fail(make_error(Errc::kForbidden, "cross-origin request refused (CSRF check)"));
  }
  deps_.authenticate(std::move(creds.token), [call, check = std::move(check),
                                              admit_now](core::Result<auth::AuthContext> ctx) {
    if (call->failed(ctx)) return;
    call->auth_ = std::move(ctx.value());
    try {
      check(call, admit_now);
    } catch (const std::exception& e) {
      call->fail(make_error(Errc::kInternal, e.what()));
    }
  });
}

void Dispatcher::finish(Call& call, Response r) {
  const Request& req = call.req_;
  set_header(r, "X-Request-Id", call.request_id_);
  const bool page = call.web_page_ && r.status < 400;
  const bool download = call.download_ && r.status < 400;
  add_security_headers(r, page ? ContentKind::kWebPage
                          : download ? ContentKind::kDownload
                                     : ContentKind::kApi,
                       req.tls);
  if (!page && !(download && !response_header(r, "Cache-Control").empty())) {
    set_header(r, "Cache-Control", "no-store");
  }
  if (r.status == 401) {
    set_header(r, "WWW-Authenticate", "Bearer");
    // A dead session cookie would otherwise be sent forever: drop it.
    if (call.cookie_auth_) {
      set_header(r, "Set-Cookie",
                 clear_session_cookie(req.tls || config_.public_url.rfind("https://", 0) == 0));
    }
  }
  if (r.status == 429) rate_limited_.inc();

  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - call.start_);
  call.stats_->counter(r.status).inc();
  call.stats_->seconds.observe(elapsed.count());
  // One JSON line per request: no bodies, no tokens, no query strings (they may carry search
  // terms); the route pattern instead of the raw path keeps ids out of aggregate views.
  const bool server_error = r.status >= 500;
  if (server_error || spdlog::should_log(spdlog::level::debug)) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", elapsed.count() * 1000.0);
    std::initializer_list<ops::LogField> fields = {
        {"method", req.method},          {"route", std::string(call.route_)},
        {"status", std::to_string(r.status)}, {"ms", ms},
        {"request_id", call.request_id_}, {"ip", req.client_ip},
        {"bytes", std::to_string(r.stream ? r.stream_length : r.body.size())}};
    if (server_error) {
      ops::log_warn("http request", fields);
    } else {
      ops::log_debug("http request", fields);
    }
  }
  auto respond = std::move(call.respond_);
  respond(std::move(r));
}

}  // namespace parley::http
