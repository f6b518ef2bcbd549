// net/http_server.cc: the listener and the HTTP/1.1 session (one coroutine per connection, on
// its own strand), after Beast's advanced server-flex-awaitable example. See net/http_server.h.
#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/middleware.h"
#include "ops/log.h"
#include "net/internal/upgrade.h"

namespace parley::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kGatewayPath = "/api/v1/gateway";
constexpr auto kAcceptRetryDelay = 50ms;  // after EMFILE and friends: do not spin
constexpr auto kDrainPollInterval = 20ms;
constexpr auto kCloseWait = 500ms;  // after the grace: for sessions to unwind once closed
constexpr auto kLingerTime = 2s;    // after a 413: discard the rest of the body this long...
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;  // ... or this much
// After refusing an upload before its body (401, 429, quota): read at most this much of what
// the client already sent, so that a small body does not reset the connection before the
// client reads the answer, and a large one is not read at all.
constexpr std::size_t kRefusedLingerBytes = 256 * 1024;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

http::Request to_request(const bhttp::request_header<>& h, std::string client_ip) {
  http::Request r;
  r.method = std::string(h.method_string());
  r.target = std::string(h.target());
  r.headers.reserve(16);
  for (const auto& f : h) r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
  r.client_ip = std::move(client_ip);
  r.tls = false;  // TLS terminates in front of this listener for now (see docs/operations.md)
  return r;
}

// Keeps store/hasher threads from touching the io_context after it is gone: responses arrive
// through callbacks that may outlive the server, so they check this under its lock.
struct Life {
  std::mutex mu;
  bool alive = true;
};

// One HTTP connection. The coroutine owns it; the registry holds a weak reference for stop().
// Every member is used on the connection's strand only, except `id`.
struct Conn {
  Conn(tcp::socket socket, std::uint64_t id_)
      : stream(std::move(socket)), wake(stream.get_executor()), id(id_) {}

  beast::tcp_stream stream;
  asio::steady_timer wake;                // cancelled when the backend's response arrives
  std::optional<http::Response> pending;  // that response
  bool admitted = false;                  // the backend let an upload's body be read
  bool busy = false;                      // a request's header has arrived; not yet answered
  bool upgraded = false;                  // the stream now belongs to the gateway: hands off
  bool closed = false;
  std::uint64_t id;

  void close() {
    if (upgraded || closed) return;
    closed = true;
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }
};

// A request body being streamed to disk: removed when the request ends, unless the handler
// moved it away first (then the unlink finds nothing).
struct StagedBody {
  std::string path;
  int fd = -1;
  ~StagedBody() { remove(); }
  void remove() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (!path.empty()) ::unlink(path.c_str());
    path.clear();
  }
  bool create(const std::string& dir) {
    std::string tmpl = dir + "/recv-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return false;
    path = std::move(tmpl);
    return true;
  }
  bool write_all(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
};

enum class BodyOutcome { kOk, kTooLarge, kFailed, kDiskError };

}  // namespace

struct HttpServer::Impl {
  Impl(Backend& b, ops::Registry& m, HttpServerConfig c)
      : backend(b),
        metrics(m),
        config(std::move(c)),
        connections_gauge(m.gauge("parley_http_connections", "Open HTTP connections (not upgraded)")),
        rejected(m.counter("parley_http_connections_rejected_total",
                           "HTTP connections closed at accept because of the connection cap")),
        timeouts(m.counter("parley_http_request_timeouts_total",
                           "HTTP connections closed because a request did not arrive in time")),
        refused(m.counter("parley_http_uploads_refused_early_total",
                          "Upload requests refused before their body was read (credentials, "
                          "rate limit, quota, offset)")),
        life(std::make_shared<Life>()),
        threads(config.http.threads > 0 ? config.http.threads
                                        : std::max(1u, std::thread::hardware_concurrency())),
        iocs(make_iocs(threads)),
        ioc(*iocs.front()),
        accept_strand(asio::make_strand(ioc)) {}

  static std::vector<std::unique_ptr<asio::io_context>> make_iocs(int n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }
  // The io_context the next accepted connection runs on (accept_strand only).
  asio::io_context& next_context() {
    asio::io_context& c = *iocs[next_ioc];
    next_ioc = (next_ioc + 1) % iocs.size();
    return c;
  }
  void stop_contexts() {
    works.clear();
    for (auto& c : iocs) c->stop();
  }

  ~Impl() {
    {
      std::lock_guard lock(life->mu);
      life->alive = false;
    }
    signals.reset();
    acceptor.reset();
  }

  core::Result<int> listen();
  void run();
  void stop(int grace_ms);
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(std::shared_ptr<Conn> conn, std::string client_ip);
  asio::awaitable<void> drain(int grace_ms);
  asio::awaitable<void> linger(Conn& c, std::size_t max_bytes = kLingerBytes);
  asio::awaitable<bool> write_refusal(Conn& c, http::Response& r, unsigned version);
  asio::awaitable<BodyOutcome> stream_body(Conn& c, beast::flat_buffer& buffer,
                                           bhttp::request_parser<bhttp::buffer_body>& parser,
                                           StagedBody& staged);
  asio::awaitable<bool> write_streamed(Conn& c, http::Response& r, unsigned version, bool keep,
                                       bool head);
  asio::awaitable<bool> write_error(Conn& c, const bhttp::request_header<>& h,
                                    const std::string& client_ip, const core::Error& e);
  void for_each_conn(std::function<void(Conn&)> fn);
  void arm_signals();
  core::Error too_large() const {
    return core::make_error(core::Errc::kTooLarge, "request body over " +
                                                       std::to_string(config.http.max_body_bytes) +
                                                       " bytes");
  }

  Backend& backend;
  ops::Registry& metrics;
  HttpServerConfig config;
  ops::Gauge& connections_gauge;
  ops::Counter& rejected;
  ops::Counter& timeouts;
  ops::Counter& refused;
  std::shared_ptr<Life> life;
  std::atomic<int> grace_ms{10000};

  std::mutex conns_mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<Conn>> conns;  // guarded by conns_mu
  std::uint64_t next_conn_id = 1;                                 // guarded by conns_mu
  std::atomic<int> busy_count{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> stop_requested{false};

  int threads;
  // Declared after everything its handlers touch: destroying the io_context destroys pending
  // coroutines (and their connections), which unregister themselves above.
  // One io_context per network thread, each run by its own thread; accepted connections are
  // dealt out round-robin so every thread carries an even share of them (with one io_context
  // shared by all threads, one thread ended up doing most of the work). The first one also runs
  // the acceptor, the signals and the drain.
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  asio::io_context& ioc;
  std::size_t next_ioc = 0;  // accept_strand only
  asio::strand<asio::io_context::executor_type> accept_strand;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> works;
};

core::Result<int> HttpServer::Impl::listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(config.http.bind, ec);
  if (ec) return core::make_error(core::Errc::kInvalidArgument, "http.bind: not an IP address: " + config.http.bind);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(config.http.port));
  acceptor.emplace(accept_strand);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (ec) {
    return core::make_error(core::Errc::kUnavailable,
                            "http.port: cannot bind " + config.http.bind + ":" +
                                std::to_string(config.http.port) + ": " + ec.message());
  }
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::make_error(core::Errc::kUnavailable, "http.port: cannot listen: " + ec.message());
  int port = acceptor->local_endpoint().port();
  asio::co_spawn(accept_strand, accept_loop(), asio::detached);
  return port;
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  asio::steady_timer backoff(accept_strand);
  while (!stopping.load()) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(next_context()), use_tuple);
    if (ec == asio::error::operation_aborted || stopping.load() || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of file descriptors, or the peer left before we accepted: wait a little and go on.
      ops::log_warn("http accept failed", {{"error", ec.message()}});
      backoff.expires_after(kAcceptRetryDelay);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored);
    std::string ip = ignored ? std::string() : remote.address().to_string();
    std::shared_ptr<Conn> conn;
    {
      std::lock_guard lock(conns_mu);
      if (conns.size() >= config.max_connections) {
        rejected.inc();
        socket.close(ignored);
        continue;
      }
      std::uint64_t id = next_conn_id++;
      // The deleter unregisters the connection, wherever its last owner lets go of it.
      conn = std::shared_ptr<Conn>(new Conn(std::move(socket), id), [this](Conn* c) {
        {
          std::lock_guard lock(conns_mu);
          conns.erase(c->id);
        }
        connections_gauge.add(-1);
        delete c;
      });
      conns.emplace(id, conn);
    }
    connections_gauge.add(1);
    auto ex = conn->stream.get_executor();
    asio::co_spawn(ex, session(std::move(conn), std::move(ip)), asio::detached);
  }
}

asio::awaitable<bool> HttpServer::Impl::write_error(Conn& c, const bhttp::request_header<>& h,
                                                    const std::string& client_ip,
                                                    const core::Error& e) {
  http::Response r = http::transport_error_response(to_request(h, client_ip), e);
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
  for (auto& [k, v] : r.headers) res.insert(k, v);
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  c.stream.expires_after(std::chrono::milliseconds(config.http.request_timeout_ms));
  auto [ec, n] = co_await bhttp::async_write(c.stream, res, use_tuple);
  co_return !ec;
}

// The backend's refusal of a request whose body was not read: the connection closes after it.
asio::awaitable<bool> HttpServer::Impl::write_refusal(Conn& c, http::Response& r,
                                                      unsigned version) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  for (auto& [k, v] : r.headers) res.insert(k, v);
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  c.stream.expires_after(std::chrono::milliseconds(config.http.request_timeout_ms));
  auto [ec, n] = co_await bhttp::async_write(c.stream, res, use_tuple);
  co_return !ec;
}

asio::awaitable<void> HttpServer::Impl::session(std::shared_ptr<Conn> c, std::string client_ip) {
  beast::flat_buffer buffer;
  const auto timeout = std::chrono::milliseconds(config.http.request_timeout_ms);
  while (!stopping.load() && !c->closed) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    // Until the route is known, the largest body any route takes (uploads: their sink's limit).
    const std::uint64_t memory_limit = static_cast<std::uint64_t>(config.http.max_body_bytes);
    parser.body_limit(std::max(memory_limit, backend.max_sink_bytes()));
    // One deadline for header and body: a request must arrive whole within the timeout (this
    // also bounds how long an idle keep-alive connection stays open).
    c->stream.expires_after(timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(c->stream, buffer, parser, use_tuple);
    if (hec) {
      if (hec == beast::error::timeout) {
        timeouts.inc();
      } else if (hec == bhttp::error::body_limit) {
        // Content-Length over the limit is known from the header alone.
        if (co_await write_error(*c, parser.get(), client_ip, too_large())) co_await linger(*c);
      } else if (hec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                 hec != bhttp::error::end_of_stream && hec != bhttp::error::partial_message &&
                 !c->closed) {
        // A malformed request line or header (or one over the header limit).
        co_await write_error(*c, parser.get(), client_ip,
                             core::make_error(core::Errc::kInvalidArgument, "malformed HTTP request"));
      }
      break;
    }
    c->busy = true;
    busy_count.fetch_add(1);
    struct BusyGuard {
      Conn& c;
      std::atomic<int>& n;
      ~BusyGuard() {
        c.busy = false;
        n.fetch_sub(1);
      }
    } busy_guard{*c, busy_count};

    auto& header = parser.get();
    if (beast::websocket::is_upgrade(header) &&
        http::split_target(header.target()).first == kGatewayPath) {
      auto up = std::make_unique<Upgrade>(Upgrade{std::move(c->stream), parser.release(), client_ip, ""});
      c->upgraded = true;
      http::Request probe = to_request(up->request, client_ip);
      http::Credentials creds = http::credentials(probe);
      if (creds.from_cookie &&
          http::same_origin_request(probe, config.http.allowed_origins, config.http.public_url)) {
        up->cookie_token = std::move(creds.token);
      }
      up->stream.expires_never();
      backend.upgrade(std::move(up));
      co_return;
    }

    std::optional<http::BodySink> sink;
    if (!parser.is_done()) sink = backend.body_sink(to_request(header, client_ip));
    if (sink) {
      // Credentials, rate limit, quota and offset are checked before any byte of the body is
      // read (and before 100 Continue invites it): a refused upload costs no disk.
      c->admitted = false;
      c->pending.reset();
      c->wake.expires_at(asio::steady_timer::time_point::max());
      c->stream.expires_never();
      backend.admit(to_request(header, client_ip),
                    [life = life, weak = std::weak_ptr<Conn>(c)](std::optional<http::Response> r) {
                      std::lock_guard lock(life->mu);
                      if (!life->alive) return;
                      auto conn = weak.lock();
                      if (!conn) return;
                      auto ex = conn->wake.get_executor();
                      asio::post(ex, [conn = std::move(conn), r = std::move(r)]() mutable {
                        if (r) {
                          conn->pending = std::move(*r);
                        } else {
                          conn->admitted = true;
                        }
                        conn->wake.cancel();
                      });
                    });
      co_await c->wake.async_wait(use_tuple);
      if (c->closed || (!c->admitted && !c->pending)) break;  // a hard stop
      if (!c->admitted) {
        refused.inc();
        http::Response r = std::move(*c->pending);
        c->pending.reset();
        if (co_await write_refusal(*c, r, header.version())) co_await linger(*c, kRefusedLingerBytes);
        break;
      }
    }
    if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      auto [cec, cn] = co_await bhttp::async_write(c->stream, cont, use_tuple);
      if (cec) break;
    }
    StagedBody staged;
    http::Request hreq;
    bool keep_alive = false;
    bool head = false;
    unsigned version = 11;
    if (sink) {
      const auto length = header.payload_size();
      if (length && *length > sink->max_bytes) {
        auto e = core::make_error(core::Errc::kTooLarge,
                                  "file over " + std::to_string(sink->max_bytes) + " bytes");
        if (co_await write_error(*c, header, client_ip, e)) co_await linger(*c);
        break;
      }
      bhttp::request_parser<bhttp::buffer_body> file_parser{std::move(parser)};
      file_parser.body_limit(sink->max_bytes);
      if (!staged.create(sink->dir)) {
        ops::log_error("http: cannot create an upload file", {{"dir", sink->dir}});
        co_await write_error(*c, file_parser.get(), client_ip,
                             core::make_error(core::Errc::kUnavailable, "cannot store uploads now"));
        break;
      }
      BodyOutcome outcome = co_await stream_body(*c, buffer, file_parser, staged);
      if (outcome != BodyOutcome::kOk) staged.remove();  // before answering: nothing half-written
      if (outcome == BodyOutcome::kTooLarge) {
        auto e = core::make_error(core::Errc::kTooLarge,
                                  "file over " + std::to_string(sink->max_bytes) + " bytes");
        if (co_await write_error(*c, file_parser.get(), client_ip, e)) co_await linger(*c);
        break;
      }
      if (outcome == BodyOutcome::kDiskError) {
        co_await write_error(*c, file_parser.get(), client_ip,
                             core::make_error(core::Errc::kUnavailable, "cannot store uploads now"));
        break;
      }
      if (outcome != BodyOutcome::kOk) break;  // dropped or timed out: the file goes with `staged`
      ::close(staged.fd);
      staged.fd = -1;
      auto& h = file_parser.get();
      keep_alive = h.keep_alive();
      head = h.method() == bhttp::verb::head;
      version = h.version();
      hreq = to_request(h, client_ip);
      hreq.body_file = staged.path;
    } else {
      if (!parser.is_done()) {
        const auto length = header.payload_size();
        if (length && *length > memory_limit) {
          if (co_await write_error(*c, header, client_ip, too_large())) co_await linger(*c);
          break;
        }
        parser.body_limit(memory_limit);  // chunked bodies: checked as they arrive
        auto [bec, bn] = co_await bhttp::async_read(c->stream, buffer, parser, use_tuple);
        if (bec == bhttp::error::body_limit) {
          if (co_await write_error(*c, parser.get(), client_ip, too_large())) co_await linger(*c);
          break;
        }
        if (bec) {
          if (bec == beast::error::timeout) timeouts.inc();
          break;
        }
      }
      auto req = parser.release();
      keep_alive = req.keep_alive();
      head = req.method() == bhttp::verb::head;
      version = req.version();
      hreq = to_request(req, client_ip);
      hreq.body = std::move(req.body());
    }

    c->pending.reset();
    c->wake.expires_at(asio::steady_timer::time_point::max());
    c->stream.expires_never();  // the backend's time is not the client's fault
    backend.handle(std::move(hreq), [life = life, weak = std::weak_ptr<Conn>(c)](http::Response r) {
      std::lock_guard lock(life->mu);
      if (!life->alive) return;
      auto conn = weak.lock();
      if (!conn) return;
      auto ex = conn->wake.get_executor();
      asio::post(ex, [conn = std::move(conn), r = std::move(r)]() mutable {
        conn->pending = std::move(r);
        conn->wake.cancel();
      });
    });
    co_await c->wake.async_wait(use_tuple);
    staged.remove();  // the handler has answered: it moved the file away or is done with it
    if (!c->pending || c->closed) break;  // a hard stop cancelled the wait

    http::Response& r = *c->pending;
    if (r.stream) {
      const bool keep = keep_alive && !stopping.load();
      bool ok = co_await write_streamed(*c, r, version, keep, head);
      c->pending.reset();
      if (!ok || !keep) break;
      continue;
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
    for (auto& [k, v] : r.headers) res.insert(k, v);
    const bool keep = keep_alive && !stopping.load();
    res.keep_alive(keep);
    if (head) {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    c->pending.reset();
    c->stream.expires_after(timeout);
    auto [wec, wn] = co_await bhttp::async_write(c->stream, res, use_tuple);
    if (wec || !keep) break;
  }
  if (!c->upgraded && !c->closed) {
    beast::error_code ec;
    c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    c->closed = true;
    c->stream.close();
  }
}

// The body of an upload, into `staged`: each read under the request timeout (a slow but steady
// upload may take longer than one timeout in total), the total under the parser's body limit.
asio::awaitable<BodyOutcome> HttpServer::Impl::stream_body(
    Conn& c, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::buffer_body>& parser,
    StagedBody& staged) {
  const auto timeout = std::chrono::milliseconds(config.http.request_timeout_ms);
  std::vector<char> chunk(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    c.stream.expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read_some(c.stream, buffer, parser, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit) co_return BodyOutcome::kTooLarge;
    if (ec) {
      if (ec == beast::error::timeout) timeouts.inc();
      co_return BodyOutcome::kFailed;
    }
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && !staged.write_all(chunk.data(), got)) {
      ops::log_error("http: writing an upload failed", {{"error", std::strerror(errno)}});
      co_return BodyOutcome::kDiskError;
    }
  }
  co_return BodyOutcome::kOk;
}

// A response whose body comes from a BodySource, in chunks (downloads).
asio::awaitable<bool> HttpServer::Impl::write_streamed(Conn& c, http::Response& r,
                                                       unsigned version, bool keep, bool head) {
  const auto timeout = std::chrono::milliseconds(config.http.request_timeout_ms);
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(r.status), version};
  for (auto& [k, v] : r.headers) res.insert(k, v);
  res.keep_alive(keep);
  res.content_length(r.stream_length);
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  c.stream.expires_after(timeout);
  auto [hec, hn] = co_await bhttp::async_write_header(c.stream, sr, use_tuple);
  if (hec) co_return false;
  if (head) co_return true;
  std::vector<char> chunk(64 * 1024);
  std::uint64_t offset = r.stream_offset;
  std::uint64_t left = r.stream_length;
  while (left > 0) {
    auto n = r.stream->read(offset, chunk.data(),
                            static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size())));
    if (!n || *n == 0) {
      ops::log_warn("http: a streamed response ended early",
                    {{"error", n ? std::string("short read") : n.error().message}});
      co_return false;  // the client sees a short body and a closed connection
    }
    c.stream.expires_after(timeout);
    auto [wec, wn] = co_await asio::async_write(c.stream, asio::buffer(chunk.data(), *n), use_tuple);
    if (wec) co_return false;
    offset += *n;
    left -= *n;
  }
  co_return true;
}

// After refusing a request whose body is still arriving: closing at once would reset the
// connection (unread data), and the client could lose our 413 before reading it. Half-close,
// then read and discard for a little while, up to a bound, like nginx's lingering close.
asio::awaitable<void> HttpServer::Impl::linger(Conn& c, std::size_t max_bytes) {
  beast::error_code ec;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c.stream.expires_after(kLingerTime);
  std::size_t total = 0;
  std::array<char, 16 * 1024> sink;
  while (total < max_bytes && !c.closed) {
    auto [rec, n] = co_await c.stream.async_read_some(asio::buffer(sink), use_tuple);
    if (rec) break;
    total += n;
  }
}

void HttpServer::Impl::for_each_conn(std::function<void(Conn&)> fn) {
  std::vector<std::shared_ptr<Conn>> live;
  {
    std::lock_guard lock(conns_mu);
    live.reserve(conns.size());
    for (auto& [id, weak] : conns) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    auto ex = c->wake.get_executor();
    asio::post(ex, [c, fn] { fn(*c); });
  }
}

void HttpServer::Impl::stop(int grace) {
  if (stop_requested.exchange(true)) return;
  asio::post(accept_strand, [this, grace] {
    stopping.store(true);
    ops::log_info("http draining", {{"grace_ms", std::to_string(grace)}});
    beast::error_code ec;
    if (acceptor) acceptor->close(ec);
    backend.set_draining(true);
    backend.drain_gateway();
    // Idle keep-alive connections go now; busy ones finish their request (Connection: close).
    for_each_conn([](Conn& c) {
      if (!c.busy) c.close();
    });
    asio::co_spawn(accept_strand, drain(grace), asio::detached);
  });
}

asio::awaitable<void> HttpServer::Impl::drain(int grace) {
  asio::steady_timer timer(accept_strand);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace);
  while (std::chrono::steady_clock::now() < deadline) {
    if (busy_count.load() == 0 && backend.gateway_connections() == 0) break;
    timer.expires_after(kDrainPollInterval);
    co_await timer.async_wait(use_tuple);
  }
  if (busy_count.load() != 0 || backend.gateway_connections() != 0) {
    ops::log_warn("http drain timed out; closing",
                  {{"busy_requests", std::to_string(busy_count.load())},
                   {"gateway_connections", std::to_string(backend.gateway_connections())}});
  }
  for_each_conn([](Conn& c) {
    c.wake.cancel();
    c.close();
  });
  // Let the sessions see their sockets closed and end (briefly: they only have to unwind).
  const auto close_deadline = std::chrono::steady_clock::now() + kCloseWait;
  while (std::chrono::steady_clock::now() < close_deadline) {
    {
      std::lock_guard lock(conns_mu);
      if (conns.empty()) break;
    }
    timer.expires_after(kDrainPollInterval / 4);
    co_await timer.async_wait(use_tuple);
  }
  if (signals) {
    beast::error_code ec;
    signals->cancel(ec);
  }
  stop_contexts();
}

void HttpServer::Impl::arm_signals() {
  signals->async_wait([this](const beast::error_code& ec, int signo) {
    if (ec) return;
    if (!stop_requested.load()) {
      ops::log_info("signal: draining", {{"signal", std::to_string(signo)}});
      stop(grace_ms.load());
      arm_signals();
    } else {
      ops::log_warn("second signal: stopping now", {{"signal", std::to_string(signo)}});
      stop_contexts();
    }
  });
}

void HttpServer::Impl::run() {
  signals.emplace(accept_strand, SIGINT, SIGTERM);
  arm_signals();
  for (auto& c : iocs) works.push_back(asio::make_work_guard(*c));
  std::vector<std::thread> pool;
  pool.reserve(iocs.size() - 1);
  for (std::size_t i = 1; i < iocs.size(); ++i) pool.emplace_back([this, i] { iocs[i]->run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}

HttpServer::HttpServer(Backend& backend, ops::Registry& metrics, HttpServerConfig config)
    : impl_(std::make_unique<Impl>(backend, metrics, std::move(config))) {
  impl_->grace_ms.store(impl_->config.grace_ms);
}

HttpServer::~HttpServer() = default;

core::Result<int> HttpServer::listen() { return impl_->listen(); }
void HttpServer::run() { impl_->run(); }
void HttpServer::stop(int grace_ms) { impl_->stop(grace_ms); }
void HttpServer::set_grace_ms(int grace_ms) { impl_->grace_ms.store(grace_ms); }

}  // namespace parley::net
