#include "net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <random>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>
#include <thread>

#include "net/internal/upgrade.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Answers on its own thread after `delay`, like the store's completion threads do.
class FakeBackend final : public Backend {
 public:
  ~FakeBackend() override {
    for (auto& t : workers_) t.join();
  }
  void handle(http::Request req, std::function<void(http::Response)> respond) override {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    http::Response r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.headers.emplace_back("X-Request-Id", "fake");
    r.body = "echo:" + req.method + " " + req.target + " " + req.body;
    if (!req.body_file.empty()) {
      std::ifstream f(req.body_file, std::ios::binary);
      std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      r.body = "file:" + std::to_string(content.size()) + ":" + content.substr(0, 8);
      file_seen_during_request_ = std::filesystem::exists(req.body_file);
    }
    if (req.target == "/download") {
      struct Source final : http::BodySource {
        core::Result<std::size_t> read(std::uint64_t off, char* buf, std::size_t n) override {
          std::size_t k = 0;
          for (; k < n && off + k < 300000; ++k) buf[k] = static_cast<char>('a' + (off + k) % 26);
          return k;
        }
      };
      r.body.clear();
      r.stream = std::make_shared<Source>();
      r.stream_offset = 26 * 1000 + 2;  // starts at 'c'
      r.stream_length = 200000;
    }
    if (delay_.count() == 0) return respond(std::move(r));
    std::lock_guard lock(mu_);
    workers_.emplace_back([d = delay_, respond = std::move(respond), r = std::move(r)]() mutable {
      std::this_thread::sleep_for(d);
      respond(std::move(r));
    });
  }
  std::optional<http::BodySink> body_sink(const http::Request& head) override {
    if (sink_dir_.empty() || head.target.rfind("/upload", 0) != 0) return std::nullopt;
    return http::BodySink{sink_dir_, 100000};
  }
  std::uint64_t max_sink_bytes() const override { return sink_dir_.empty() ? 0 : 100000; }
  // Refuses uploads that carry "x-refuse" (answering from another thread, as the store would).
  void admit(http::Request head, std::function<void(std::optional<http::Response>)> done) override {
    ++admissions_;
    if (head.header("x-refuse").empty()) return done(std::nullopt);
    std::lock_guard lock(mu_);
    workers_.emplace_back([done = std::move(done)] {
      http::Response r;
      r.status = 401;
      r.body = "refused";
      done(std::move(r));
    });
  }
  std::atomic<int> admissions_{0};
  void set_draining(bool d) override { draining_ = d; }
  void drain_gateway() override { gateway_drained_ = true; }
  std::size_t gateway_connections() const override { return 0; }
  void upgrade(std::unique_ptr<Upgrade> up) override {
    std::lock_guard lock(mu_);
    upgrades_.push_back(up->request.target().empty() ? "" : std::string(up->request.target()));
    cookie_tokens_.push_back(up->cookie_token);
    upgrade_ips_.push_back(up->client_ip);
    // Dropping `up` closes the socket: the client sees EOF.
  }

  std::vector<http::Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<std::string> cookie_tokens() {
    std::lock_guard lock(mu_);
    return cookie_tokens_;
  }
  std::vector<std::string> upgrade_ips() {
    std::lock_guard lock(mu_);
    return upgrade_ips_;
  }

  std::chrono::milliseconds delay_{0};
  std::string sink_dir_;
  std::atomic<bool> file_seen_during_request_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> gateway_drained_{false};

 private:
  std::mutex mu_;
  std::vector<http::Request> requests_;
  std::vector<std::string> upgrades_, cookie_tokens_, upgrade_ips_;
  std::vector<std::thread> workers_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerConfig config = {}) {
    config.http.bind = "127.0.0.1";
    config.http.port = 0;
    config.http.threads = 2;
    if (config.http.max_body_bytes == (1u << 20)) config.http.max_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(backend_, metrics_, config);
    auto port = server_->listen();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] {
      server_->run();
      ran_out_ = true;
    });
  }
  void TearDown() override {
    if (server_) server_->stop(1000);
    if (thread_.joinable()) thread_.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_ioc_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)));
    return s;
  }

  static bhttp::response<bhttp::string_body> roundtrip(tcp::socket& s, bhttp::request<bhttp::string_body> req) {
    req.prepare_payload();
    bhttp::write(s, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return res;
  }

  static bhttp::request<bhttp::string_body> get(std::string target) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "localhost");
    return req;
  }

  // Reads until the peer closes; true if it did within a second.
  static bool closed_by_peer(tcp::socket& s) {
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < deadline) {
      ::pollfd p{s.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return true;  // EOF or reset
    }
    return false;
  }

  FakeBackend backend_;
  ops::Registry metrics_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<bool> ran_out_{false};
  int port_ = 0;
  asio::io_context client_ioc_;
};

TEST_F(HttpServerTest, KeepAliveRequestsReachTheBackendWithLowerCasedHeaders) {
  start();
  auto s = connect();
  auto req = get("/api/v1/x?y=1");
  req.set("X-Custom-Thing", "Value");
  auto r1 = roundtrip(s, req);
  EXPECT_EQ(r1.result_int(), 200);
  EXPECT_EQ(r1.body(), "echo:GET /api/v1/x?y=1 ");
  EXPECT_TRUE(r1.keep_alive());

  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/api/v1/p", 11};
  post.set(bhttp::field::host, "localhost");
  post.set(bhttp::field::content_type, "application/json");
  post.body() = "{\"a\":1}";
  auto r2 = roundtrip(s, post);  // same connection
  EXPECT_EQ(r2.body(), "echo:POST /api/v1/p {\"a\":1}");

  auto seen = backend_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("x-custom-thing"), "Value");
  EXPECT_EQ(seen[0].client_ip, "127.0.0.1");
  EXPECT_EQ(seen[1].header("content-type"), "application/json");
  EXPECT_NE(metrics_.render().find("parley_http_connections 1"), std::string::npos);
}

TEST_F(HttpServerTest, ResponsesFromOtherThreadsAreDelivered) {
  backend_.delay_ = 30ms;
  start();
  auto s = connect();
  for (int i = 0; i < 3; ++i) {
    auto r = roundtrip(s, get("/api/v1/slow/" + std::to_string(i)));
    EXPECT_EQ(r.body(), "echo:GET /api/v1/slow/" + std::to_string(i) + " ");
  }
}

TEST_F(HttpServerTest, BodyOverTheLimitGets413ProblemAndClose) {
  start();
  auto s = connect();
  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/api/v1/p", 11};
  post.set(bhttp::field::host, "localhost");
  post.set(bhttp::field::content_type, "application/json");
  post.set("X-Request-Id", "big-1");
  post.body() = std::string(4096, 'x');
  auto r = roundtrip(s, post);
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
  EXPECT_EQ(r["X-Request-Id"], "big-1");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(boost::json::parse(r.body()).at("code").as_string(), "too_large");
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(HttpServerTest, ClientSendingAWholeOversizedBodyStillReads413) {
  start();
  auto s = connect();
  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/api/v1/p", 11};
  post.set(bhttp::field::host, "localhost");
  post.set(bhttp::field::content_type, "application/json");
  post.body() = std::string(2 * 1024 * 1024, 'x');  // far past the socket buffers
  post.prepare_payload();
  bhttp::write(s, post);  // would fail with a reset if the server closed without draining
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 413);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  start();
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GARBAGE\x01 / HTTP/1.1\r\n\r\n")));
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(boost::json::parse(res.body()).at("code").as_string(), "invalid_argument");
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  start();
  auto s = connect();
  bhttp::request<bhttp::string_body> head{bhttp::verb::head, "/livez", 11};
  head.set(bhttp::field::host, "localhost");
  bhttp::write(s, head);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> p;
  p.skip(true);  // a response to HEAD has no body
  bhttp::read(s, buf, p);
  EXPECT_EQ(p.get().result_int(), 200);
  EXPECT_EQ(p.get()[bhttp::field::content_length], std::to_string(std::string("echo:HEAD /livez ").size()));
  // The connection is still usable: the next response parses cleanly.
  auto r = roundtrip(s, get("/again"));
  EXPECT_EQ(r.body(), "echo:GET /again ");
}

TEST_F(HttpServerTest, SlowRequestIsCutOffByTheTimeout) {
  HttpServerConfig c;
  c.http.request_timeout_ms = 200;
  start(c);
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));  // never finished
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_peer(s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms);
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(HttpServerTest, GatewayUpgradeIsHandedOverWithCookieOnlyForSameOrigin) {
  start();
  auto upgrade = [&](std::string origin) {
    auto s = connect();
    auto req = get("/api/v1/gateway");
    req.set(bhttp::field::connection, "Upgrade");
    req.set(bhttp::field::upgrade, "websocket");
    req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(bhttp::field::sec_websocket_version, "13");
    req.set(bhttp::field::cookie, "parley_session=tok123");
    req.set(bhttp::field::host, "chat.local");
    req.set(bhttp::field::origin, origin);
    bhttp::write(s, req);
    EXPECT_TRUE(closed_by_peer(s));  // the fake backend drops the connection
  };
  upgrade("http://chat.local");
  upgrade("https://evil.example");
  auto tokens = backend_.cookie_tokens();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0], "tok123");
  EXPECT_EQ(tokens[1], "");  // cross-site: the cookie is not honoured
  EXPECT_EQ(backend_.upgrade_ips()[0], "127.0.0.1");
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(HttpServerTest, GracefulStopFinishesInFlightRequestsAndClosesIdleOnes) {
  backend_.delay_ = 300ms;
  start();
  auto idle = connect();
  auto busy = connect();
  auto req = get("/api/v1/in-flight");
  req.prepare_payload();
  bhttp::write(busy, req);
  std::this_thread::sleep_for(100ms);  // the request is now with the backend
  server_->stop(2000);
  EXPECT_TRUE(closed_by_peer(idle));

  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(busy, buf, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "echo:GET /api/v1/in-flight ");
  EXPECT_FALSE(res.keep_alive());  // draining: Connection: close
  thread_.join();
  EXPECT_TRUE(ran_out_);
  EXPECT_TRUE(backend_.draining_);
  EXPECT_TRUE(backend_.gateway_drained_);
  // No longer accepting.
  tcp::socket s(client_ioc_);
  beast::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)), ec);
  EXPECT_TRUE(ec);
}

TEST_F(HttpServerTest, StopGivesUpOnRequestsAfterTheGrace) {
  backend_.delay_ = 1500ms;
  start();
  auto busy = connect();
  auto req = get("/api/v1/forever");
  bhttp::write(busy, req);
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  server_->stop(200);
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  EXPECT_TRUE(closed_by_peer(busy));
}

class StreamingTest : public HttpServerTest {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("parley-sink-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    backend_.sink_dir_ = dir_.string();
  }
  void TearDown() override {
    HttpServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  bool sink_empty_within(std::chrono::milliseconds d) {
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::is_empty(dir_)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::filesystem::path dir_;
};

TEST_F(StreamingTest, UploadBodyIsStreamedToAFileOverTheMemoryLimitAndRemovedAfterwards) {
  start();  // max_body_bytes 1024: the 50,000-byte body only fits through the sink
  auto s = connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/upload?name=x", 11};
  req.set(bhttp::field::host, "localhost");
  req.body() = std::string(50000, 'z');
  auto r = roundtrip(s, req);
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "file:50000:zzzzzzzz");
  EXPECT_TRUE(backend_.file_seen_during_request_.load());
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "removed before the response was written";
  // The same connection goes on with an ordinary request.
  auto r2 = roundtrip(s, get("/after"));
  EXPECT_EQ(r2.body(), "echo:GET /after ");
}

TEST_F(StreamingTest, OverTheSinkLimitGets413WithoutAFile) {
  start();
  auto s = connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/upload", 11};
  req.set(bhttp::field::host, "localhost");
  req.body() = std::string(100001, 'z');
  auto r = roundtrip(s, req);
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(StreamingTest, TruncatedUploadLeavesNoFileAndReachesNoHandler) {
  start();
  auto s = connect();
  std::string head =
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n" + std::string(30000, 'q');
  asio::write(s, asio::buffer(head));
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::filesystem::is_empty(dir_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_FALSE(std::filesystem::is_empty(dir_)) << "the body was being written to a file";
  s.close();  // dropped mid-body
  EXPECT_TRUE(sink_empty_within(2s));
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(StreamingTest, RefusedUploadIsAnsweredBeforeItsBodyWithoutContinueOrFile) {
  start();
  auto s = connect();
  // A large declared body, none of it sent, and an invitation asked for: the refusal comes at
  // once, without 100 Continue, and the connection closes.
  std::string head =
      "POST /upload HTTP/1.1\r\nHost: x\r\nX-Refuse: 1\r\nExpect: 100-continue\r\n"
      "Content-Length: 90000\r\n\r\n";
  asio::write(s, asio::buffer(head));
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(s, buf, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(res.body(), "refused");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(closed_by_peer(s));
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
  EXPECT_TRUE(backend_.requests().empty()) << "the route never ran";
  EXPECT_EQ(backend_.admissions_.load(), 1);
}

TEST_F(StreamingTest, AdmittedUploadGetsContinueThenIsStreamed) {
  start();
  auto s = connect();
  std::string head =
      "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
  asio::write(s, asio::buffer(head));
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::empty_body> cont;
  bhttp::read_header(s, buf, cont);
  EXPECT_EQ(cont.get().result_int(), 100);
  asio::write(s, asio::buffer(std::string(5000, 'k')));
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "file:5000:kkkkkkkk");
  EXPECT_EQ(backend_.admissions_.load(), 1);
}

TEST_F(StreamingTest, BodySourceResponseIsStreamedFromItsOffset) {
  start();
  auto s = connect();
  auto r = roundtrip(s, get("/download"));
  EXPECT_EQ(r.result_int(), 200);
  ASSERT_EQ(r.body().size(), 200000u);
  EXPECT_EQ(r.body().substr(0, 4), "cdef");
  EXPECT_EQ(r.body().back(), static_cast<char>('a' + (26 * 1000 + 2 + 199999) % 26));
  auto again = roundtrip(s, get("/download"));  // keep-alive after a streamed body
  EXPECT_EQ(again.body().size(), 200000u);
}

TEST_F(HttpServerTest, ListenReportsABusyPort) {
  start();
  HttpServerConfig c;
  c.http.bind = "127.0.0.1";
  c.http.port = port_;
  HttpServer second(backend_, metrics_, c);
  auto r = second.listen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("http.port:", 0), 0u) << r.error().message;
}

}  // namespace
}  // namespace parley::net
