// bench/client.cc: see client.h. The one translation unit that compiles Beast's WebSocket
// client for parley-bench.
#include "client.h"

#include <netinet/in.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <charconv>

namespace parley::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
// Lets many sockets bound to one source address share ephemeral ports across destinations:
// the port is picked at connect() instead of bind().
using BindNoPort = asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>;

std::string_view str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return it->value().get_string();
}

std::int64_t num(const json::object& o, std::string_view key, std::int64_t dflt = -1) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return dflt;
  boost::system::error_code ec;
  auto v = it->value().to_number<std::int64_t>(ec);
  return ec ? dflt : v;
}

const json::object* obj(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

bool final_close(int code) { return code == 4004 || (code >= 4500 && code < 4600); }

// Body layout: "<sender user index>:<n>:<scheduled send ns>:<phase>:" padded with 'x'.
struct BodyStamp {
  std::int64_t user = -1;
  std::uint64_t n = 0;
  std::int64_t send_ns = 0;
  int phase = 0;
};

bool parse_body(std::string_view b, BodyStamp& s) {
  const char* p = b.data();
  const char* end = b.data() + b.size();
  auto field = [&](auto& out) {
    auto r = std::from_chars(p, end, out);
    if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ':') return false;
    p = r.ptr + 1;
    return true;
  };
  return field(s.user) && field(s.n) && field(s.send_ns) && field(s.phase);
}

}  // namespace

struct Client::Ws {
  explicit Ws(Strand& s) : ws(s) {}
  websocket::stream<beast::tcp_stream> ws;
  bool writing = false;
};

Client::Client(RunState& run, int user_index, tcp::endpoint server, asio::ip::address_v4 source,
               asio::io_context& ioc)
    : run_(run),
      user_(user_index),
      server_(server),
      source_(source),
      strand_(asio::make_strand(ioc)),
      heartbeat_ms_(run.opt.heartbeat_ms),
      rng_(static_cast<std::uint32_t>(run.opt.rng_seed * 7919 + user_index + 1)) {}

Client::~Client() = default;

asio::awaitable<void> Client::run() {
  bool resuming = false;
  int attempt = 0;
  std::int64_t down_since = 0;
  // Bounded: gives up after this many consecutive failed attempts (about 4 minutes of backoff
  // with the default 5 s ceiling).
  constexpr int kMaxAttempts = 60;
  while (!stopping_ && !final_ && attempt < kMaxAttempts) {
    std::int64_t t0 = now_ns();
    bool ok = co_await connect_once(resuming);
    if (ok) {
      std::int64_t t1 = now_ns();
      if (resuming) {
        run_.c.resumes.fetch_add(1);
        run_.c.resume_handshake.record_us((t1 - t0) / 1000);
        run_.c.outage.record_us((t1 - down_since) / 1000);
      } else {
        run_.c.first_handshake.record_us((t1 - t0) / 1000);
      }
      attempt = 0;
      connected_ = true;
      run_.c.connected.fetch_add(1);
      co_await read_loop(ws_);
      connected_ = false;
      run_.c.connected.fetch_sub(1);
      run_.c.unacked_at_disconnect.fetch_add(pending_.size());
      run_.c.outstanding.fetch_sub(static_cast<std::int64_t>(pending_.size()));
      pending_.clear();
      out_.clear();
      if (stopping_ || final_) break;
      if (dropping_) {
        dropping_ = false;
        run_.c.churn_drops.fetch_add(1);
      } else {
        run_.c.disconnects.fetch_add(1);
      }
      down_since = now_ns();
      resuming = have_views_;
    } else {
      if (stopping_ || final_) break;
      if (down_since == 0) down_since = t0;
      ++attempt;
    }
    // Exponential backoff with equal jitter, as the web SDK reconnects (RunState::Options):
    // `attempt` counts the failed attempts since the connection was last up.
    const std::int64_t ceiling_ms =
        std::min<std::int64_t>(static_cast<std::int64_t>(run_.opt.backoff_base_ms) << std::min(attempt, 20),
                               run_.opt.backoff_max_ms);
    std::uniform_int_distribution<std::int64_t> jitter(ceiling_ms / 2, ceiling_ms);
    backoff_.emplace(strand_, std::chrono::milliseconds(jitter(rng_)));
    co_await backoff_->async_wait(kUseTuple);
    backoff_.reset();
  }
  ws_.reset();
}

asio::awaitable<bool> Client::connect_once(bool resuming) {
  auto ws = std::make_shared<Ws>(strand_);
  auto& stream = beast::get_lowest_layer(ws->ws);
  boost::system::error_code ec;
  stream.socket().open(tcp::v4(), ec);
  if (!ec && !source_.is_unspecified()) {
    stream.socket().set_option(BindNoPort(true), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(source_, 0), ec);
  }
  if (ec) {
    run_.c.connect_failures.fetch_add(1);
    co_return false;
  }
  stream.expires_after(std::chrono::seconds(10));
  auto [cec] = co_await stream.async_connect(server_, kUseTuple);
  if (cec || stopping_) {
    run_.c.connect_failures.fetch_add(1);
    co_return false;
  }
  stream.expires_never();
  websocket::stream_base::timeout t;
  t.handshake_timeout = std::chrono::seconds(10);
  t.idle_timeout = std::chrono::milliseconds(2 * heartbeat_ms_ + 5000);
  t.keep_alive_pings = false;
  ws->ws.set_option(t);
  ws->ws.read_message_max(16 << 20);
  ws->ws.text(true);
  std::string host = server_.address().to_string() + ":" + std::to_string(server_.port());
  auto [hec] = co_await ws->ws.async_handshake(host, "/api/v1/gateway", kUseTuple);
  if (hec) {
    run_.c.connect_failures.fetch_add(1);
    co_return false;
  }
  ws_ = ws;
  beast::flat_buffer buf;
  // hello
  auto [rec, rn] = co_await ws->ws.async_read(buf, kUseTuple);
  if (rec) {
    run_.c.connect_failures.fetch_add(1);
    co_return false;
  }
  {
    boost::system::error_code pec;
    auto v = json::parse(beast::buffers_to_string(buf.data()), pec);
    if (!pec && v.is_object()) {
      if (auto* d = obj(v.get_object(), "d")) {
        auto hb = num(*d, "heartbeat_ms");
        if (hb > 0) heartbeat_ms_ = static_cast<int>(hb);
      }
    }
  }
  buf.consume(buf.size());
  auto [wec, wn] = co_await ws->ws.async_write(asio::buffer(identify_frame(resuming)), kUseTuple);
  if (wec) {
    run_.c.identify_failures.fetch_add(1);
    co_return false;
  }
  last_write_ns_ = now_ns();
  auto [iec, in] = co_await ws->ws.async_read(buf, kUseTuple);
  if (iec) {
    if (final_close(ws->ws.reason().code)) {
      final_ = true;
      run_.c.final_closes.fetch_add(1);
    }
    run_.c.identify_failures.fetch_add(1);
    co_return false;
  }
  std::string text = beast::buffers_to_string(buf.data());
  if (!on_ready(text)) {
    run_.c.identify_failures.fetch_add(1);
    co_return false;
  }
  co_return true;
}

std::string Client::identify_frame(bool resuming) const {
  json::object d;
  d["token"] = run_.seed.users[user_].token;
  d["protocol"] = 1;
  if (run_.opt.subscribe_ephemeral) d["subscribe"] = json::array{"presence", "typing"};
  if (resuming && !epoch_.empty()) {
    json::object rooms;
    for (const auto& v : views_) rooms[run_.seed.rooms[v.room].id] = v.seq.last();
    d["resume"] = json::object{{"epoch", epoch_}, {"rooms", std::move(rooms)}};
  }
  return json::serialize(json::object{{"op", "identify"}, {"id", "i"}, {"d", std::move(d)}});
}

bool Client::on_ready(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.get_object();
  if (str(o, "op") != "ready") return false;
  const auto* d = obj(o, "d");
  if (!d) return false;
  epoch_ = std::string(str(*d, "epoch"));
  if (have_views_) return true;  // a resume: keep our own per-room positions
  std::unordered_map<std::string_view, std::int64_t> last;
  if (auto it = d->find("rooms"); it != d->end() && it->value().is_array()) {
    for (const auto& s : it->value().get_array()) {
      if (!s.is_object()) continue;
      if (const auto* room = obj(s.get_object(), "room")) {
        last[str(*room, "id")] = num(*room, "last_seq", 0);
      }
    }
  }
  for (int r : run_.seed.users[user_].rooms) {
    auto it = last.find(run_.seed.rooms[r].id);
    std::int64_t start = 0;
    if (it == last.end()) {
      run_.c.missing_rooms.fetch_add(1);
    } else {
      start = it->second;
      run_.note_seq(r, start);
    }
    views_.push_back(RoomView{r, SeqTracker(start)});
  }
  have_views_ = true;
  run_.c.identified.fetch_add(1);
  return true;
}

asio::awaitable<void> Client::read_loop(std::shared_ptr<Ws> ws) {
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await ws->ws.async_read(buf, kUseTuple);
    if (ec) {
      if (final_close(ws->ws.reason().code)) {
        final_ = true;
        run_.c.final_closes.fetch_add(1);
      }
      break;
    }
    const auto data = buf.cdata();
    on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buf.consume(buf.size());
    // Bound what an idle connection keeps: drop a buffer grown by one large frame.
    if (buf.capacity() > 64 * 1024) buf.shrink_to_fit();
  }
}

Client::RoomView* Client::view(int room) {
  for (auto& v : views_) {
    if (v.room == room) return &v;
  }
  return nullptr;
}

void Client::on_frame(std::string_view text) {
  run_.c.frames_in.fetch_add(1, std::memory_order_relaxed);
  unsigned char scratch[8192];
  json::monotonic_resource mr(scratch, sizeof scratch);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, &mr);
  if (ec || !v.is_object()) {
    run_.c.decode_errors.fetch_add(1);
    return;
  }
  const auto& o = v.get_object();
  std::string_view op = str(o, "op");
  const json::object* d = obj(o, "d");
  if (op == "pong" || op == "room.joined" || op == "hello") return;
  if (op == "typing") return void(run_.c.typing_frames.fetch_add(1, std::memory_order_relaxed));
  if (op == "presence") return void(run_.c.presence_frames.fetch_add(1, std::memory_order_relaxed));
  if (op == "ack" || op == "error") {
    std::string_view re = str(o, "re");
    std::uint64_t n = 0;
    if (op == "error" && re.empty() && d && str(*d, "code") == "rate_limited" && run_.opt.typing) {
      run_.c.typing_refused.fetch_add(1);  // a typing start (sent without an id) over its limit
      return;
    }
    if (re.size() < 2 || re[0] != 's' ||
        std::from_chars(re.data() + 1, re.data() + re.size(), n).ec != std::errc{}) {
      if (op == "error") run_.c.decode_errors.fetch_add(1);
      return;
    }
    auto it = pending_.find(n);
    if (it == pending_.end()) return;
    auto& ps = *run_.phases[it->second.phase];
    if (op == "ack") {
      ps.acked.fetch_add(1, std::memory_order_relaxed);
      if (d) {
        auto ri = run_.room_index.find(std::string(str(*d, "room_id")));
        auto seq = num(*d, "seq");
        if (ri != run_.room_index.end() && seq > 0) run_.note_seq(ri->second, seq);
      }
      // The protocol queues the event to the sending session before the ack.
      if (!it->second.echoed) run_.c.ack_before_echo.fetch_add(1);
    } else {
      ps.send_errors.fetch_add(1, std::memory_order_relaxed);
      if (d && str(*d, "code") == "rate_limited") run_.c.rate_limited.fetch_add(1);
    }
    pending_.erase(it);
    run_.c.outstanding.fetch_sub(1);
    return;
  }
  // Ephemeral frames (receipts, typing, presence, read-state sync) carry no seq: they are
  // not part of the delivery check. Durable room events and room.reset are.
  const bool durable = op.starts_with("message.") || op.starts_with("member.") ||
                       op.starts_with("reaction.") || op == "room.updated" || op == "room.reset";
  if (!durable) return;
  if (!d) {
    run_.c.decode_errors.fetch_add(1);
    return;
  }
  auto ri = run_.room_index.find(std::string(str(*d, "room_id")));
  if (ri == run_.room_index.end()) {
    run_.c.unknown_room_events.fetch_add(1);
    return;
  }
  RoomView* rv = view(ri->second);
  if (!rv) {
    run_.c.unknown_room_events.fetch_add(1);
    return;
  }
  if (op == "room.reset") {
    run_.c.room_resets.fetch_add(1);
    auto last = num(*d, "last_seq", 0);
    rv->seq.on_reset(last);
    run_.note_seq(ri->second, last);
    return;
  }
  auto seq = num(*d, "seq");
  if (seq <= 0) {
    run_.c.decode_errors.fetch_add(1);
    return;
  }
  run_.note_seq(ri->second, seq);
  auto verdict = rv->seq.on_event(seq);
  switch (verdict) {
    case SeqTracker::Verdict::kInOrder: break;
    case SeqTracker::Verdict::kGap: run_.c.gaps.fetch_add(1); break;
    case SeqTracker::Verdict::kLate: run_.c.late.fetch_add(1); break;
    case SeqTracker::Verdict::kDuplicate: run_.c.duplicates.fetch_add(1); return;
  }
  if (op != "message.created") return;
  const json::object* m = obj(*d, "message");
  BodyStamp stamp;
  if (!m || !parse_body(str(*m, "body"), stamp) || stamp.phase < 0 ||
      stamp.phase >= static_cast<int>(run_.phases.size())) {
    run_.c.decode_errors.fetch_add(1);
    return;
  }
  auto& ps = *run_.phases[stamp.phase];
  ps.deliveries.fetch_add(1, std::memory_order_relaxed);
  ps.latency.record_us((now_ns() - stamp.send_ns) / 1000);
  if (stamp.user == user_) {
    if (auto it = pending_.find(stamp.n); it != pending_.end()) it->second.echoed = true;
  }
}

void Client::send_message(int room, int phase, std::int64_t scheduled_ns) {
  auto& ps = *run_.phases[phase];
  if (!connected_ || static_cast<int>(pending_.size()) >= run_.opt.max_pending_per_client) {
    ps.skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::uint64_t n = ++next_n_;
  std::string body = std::to_string(user_) + ":" + std::to_string(n) + ":" +
                     std::to_string(scheduled_ns) + ":" + std::to_string(phase) + ":";
  if (body.size() < run_.opt.body_bytes) body.append(run_.opt.body_bytes - body.size(), 'x');
  std::string frame;
  frame.reserve(body.size() + 160);
  frame += R"({"op":"send","id":"s)";
  frame += std::to_string(n);
  frame += R"(","d":{"room_id":")";
  frame += run_.seed.rooms[room].id;
  frame += R"(","client_txn_id":")";
  frame += run_.opt.txn_prefix;
  frame += std::to_string(n);
  frame += R"(","body":")";
  frame += body;
  frame += R"("}})";
  if (run_.opt.typing) {
    // What a client does while its user writes the message (the send then ends the typing).
    std::string typing = R"({"op":"typing","d":{"room_id":")";
    typing += run_.seed.rooms[room].id;
    typing += R"("}})";
    run_.c.typing_sent.fetch_add(1, std::memory_order_relaxed);
    enqueue(std::move(typing));
  }
  pending_.emplace(n, Pending{scheduled_ns, phase, false});
  run_.c.outstanding.fetch_add(1);
  ps.sent.fetch_add(1, std::memory_order_relaxed);
  enqueue(std::move(frame));
}

void Client::send_ping() {
  if (!connected_) return;
  enqueue(R"({"op":"ping","id":"p"})");
}

void Client::enqueue(std::string frame) {
  if (!ws_) return;
  out_.push_back(std::move(frame));
  if (!ws_->writing) {
    ws_->writing = true;
    asio::co_spawn(strand_, write_loop(ws_), asio::detached);
  }
}

asio::awaitable<void> Client::write_loop(std::shared_ptr<Ws> ws) {
  while (!out_.empty() && ws == ws_) {
    std::string frame = std::move(out_.front());
    out_.pop_front();
    auto [ec, n] = co_await ws->ws.async_write(asio::buffer(frame), kUseTuple);
    if (ec) break;
    last_write_ns_.store(now_ns(), std::memory_order_relaxed);
  }
  ws->writing = false;
}

void Client::drop() {
  if (!connected_ || !ws_) return;
  dropping_ = true;
  beast::get_lowest_layer(ws_->ws).close();
}

void Client::stop() {
  stopping_ = true;
  if (backoff_) backoff_->cancel();
  if (ws_ && connected_) {
    auto ws = ws_;
    ws->ws.async_close(websocket::close_code::normal, [ws](boost::system::error_code) {});
  } else if (ws_) {
    beast::get_lowest_layer(ws_->ws).close();
  }
}

Client::Tally Client::tally() const {
  Tally t;
  for (const auto& v : views_) {
    auto final_seq = run_.room_final_seq[v.room].load();
    t.expected += v.seq.expected(final_seq);
    t.received += v.seq.received();
    t.lost += v.seq.lost(final_seq);
    t.skipped += v.seq.skipped();
  }
  return t;
}

}  // namespace parley::bench
