// gateway/session.cc: one gateway WebSocket connection, and accept_upgrade(). The only
// translation unit of parley_gateway that includes Beast.
//
// Shape (Beast chat-multi / advanced-server-flex-awaitable): one reader coroutine per
// connection; ONE writer (callback driven, so an idle session holds no writer frame) draining a
// byte-capped OutboundQueue; every piece of session state lives on the connection's strand.
// The writer encodes the WebSocket frames itself and writes up to 32 queued frames in one
// system call; Beast's own control frames share the socket through GatheredSocket
// (gateway/internal/gathered_socket.h, decision 0011), which never lets the two interleave.
// Other threads (the bus sink, store and auth completions) only post to that strand, holding
// a weak reference where the session might already be gone. Bus deliveries are the exception:
// they go through a small mutex-guarded inbox drained by one posted handler per batch.
//
// Per room the session keeps a RoomCursor (gateway/room_cursor.h): live events, replay on
// resume, the window between the snapshot and the subscription, joins and a lossy bus all go
// through it, so the client sees each room's events once, in seq order.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/json.h"
#include "gateway/frame_limiter.h"
#include "gateway/internal/gathered_socket.h"
#include "gateway/internal/gateway_impl.h"
#include "gateway/internal/hub_impl.h"
#include "gateway/outbound_queue.h"
#include "gateway/presence.h"
#include "auth/policy.h"
#include "gateway/room_cursor.h"
#include "gateway/upgrade.h"
#include "ops/log.h"
#include "ops/metrics.h"

namespace parley::gateway {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;
using core::Errc;
using core::Id;

constexpr int kProtocolVersion = 1;
constexpr std::size_t kMaxRequestIdBytes = 64;     // `id` of a client request
constexpr int kMaxInflightSends = 32;              // per connection; beyond: rate_limited
constexpr std::size_t kMaxResumeRooms = 10000;     // entries in identify.resume.rooms
constexpr int kFetchPage = 100;                    // events per store fetch (replay, repair)
constexpr auto kCloseGrace = std::chrono::seconds(30);  // close handshake, then the socket goes
constexpr std::size_t kReadChunkBytes = 128;       // reads land here, then in the message
constexpr std::size_t kIdleMessageBytes = 256;     // message capacity kept between frames
constexpr std::size_t kWriteBufferBytes = 512;     // Beast's; unused without deflate/masking
constexpr std::int64_t kRevalidateMinMs = 5000;    // identified sessions re-check user/session
constexpr std::int64_t kRevalidatePerSecond = 500; // node-wide budget of those checks
// Typing (docs/protocol.md, "Typing"): a start expires by itself after kTypingTtl unless
// refreshed; refreshes within kTypingRefresh of the last publication are not republished; at
// most kTypingPerSecond publications a second (bursts of kTypingBurst) per connection.
constexpr auto kTypingTtl = std::chrono::milliseconds(6000);
constexpr auto kTypingRefresh = std::chrono::milliseconds(3000);
constexpr double kTypingPerSecond = 1;
constexpr double kTypingBurst = 4;
constexpr std::size_t kMaxInboxDeliveries = 1024; // undrained deliveries; beyond: 4010
constexpr std::size_t kIdleInboxCapacity = 16;     // inbox capacity kept between drains

// Close codes (docs/protocol.md, "Close codes").
constexpr std::uint16_t kCloseServerError = 1011;
constexpr std::uint16_t kCloseDraining = 1012;
constexpr std::uint16_t kCloseDecode = 4002;
constexpr std::uint16_t kCloseNotIdentified = 4003;
constexpr std::uint16_t kCloseAuthFailed = 4004;
constexpr std::uint16_t kCloseRateLimited = 4008;
constexpr std::uint16_t kCloseHeartbeat = 4009;
constexpr std::uint16_t kCloseSlowConsumer = 4010;
constexpr std::uint16_t kCloseRevoked = 4500;
constexpr std::uint16_t kCloseDeactivated = 4501;
constexpr std::uint16_t kCloseProtocol = 4502;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

Frame make_frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

Frame error_frame(const core::Error& e, std::string_view re) {
  json::object d;
  d["code"] = core::code_name(e.code);
  d["message"] = e.message;
  if (e.code == Errc::kRateLimited && e.retry_after_ms > 0) d["retry_after_ms"] = e.retry_after_ms;
  return make_frame(api::frame("error", d, re));
}

core::Error invalid(std::string message) {
  return core::make_error(Errc::kInvalidArgument, std::move(message));
}

CursorItem item_of(const core::RoomEvent& e) {
  return CursorItem{e.seq, make_frame(api::event_frame(e)),
                    e.type == core::EventType::kMemberLeft ? e.user_id : 0, 0};
}

Frame room_joined_frame(const core::RoomSummary& s) {
  json::object d;
  d["room"] = api::to_json(s);
  return make_frame(api::frame("room.joined", d));
}

// identify.resume, kept only until the snapshot is answered.
struct Resume {
  std::string epoch;
  std::vector<std::pair<Id, std::int64_t>> rooms;  // sorted by room id

  const std::int64_t* find(Id room) const {
    auto it = std::lower_bound(rooms.begin(), rooms.end(), room,
                               [](const auto& p, Id r) { return p.first < r; });
    return it != rooms.end() && it->first == room ? &it->second : nullptr;
  }
};

core::Result<std::unique_ptr<Resume>> parse_resume(const json::object& d) {
  const json::value* v = d.if_contains("resume");
  if (!v || v->is_null()) return std::unique_ptr<Resume>();
  if (!v->is_object()) return invalid("resume: must be an object");
  const json::object& o = v->get_object();
  auto r = std::make_unique<Resume>();
  auto epoch = api::get_optional_string(o, "epoch");
  if (!epoch) return invalid("resume.epoch: must be a string");
  if (*epoch) r->epoch = std::move(**epoch);
  if (const json::value* rooms = o.if_contains("rooms"); rooms && !rooms->is_null()) {
    if (!rooms->is_object()) return invalid("resume.rooms: must be an object");
    const json::object& ro = rooms->get_object();
    if (ro.size() > kMaxResumeRooms) return invalid("resume.rooms: too many rooms");
    r->rooms.reserve(ro.size());
    for (const auto& kv : ro) {
      auto id = core::parse_id(kv.key());
      std::int64_t seq = -1;
      if (kv.value().is_int64()) seq = kv.value().get_int64();
      if (kv.value().is_uint64() && kv.value().get_uint64() <= (1ULL << 53)) {
        seq = static_cast<std::int64_t>(kv.value().get_uint64());
      }
      if (!id || seq < 0) return invalid("resume.rooms: must map room ids to seqs (numbers >= 0)");
      r->rooms.emplace_back(*id, seq);
    }
    std::sort(r->rooms.begin(), r->rooms.end());
  }
  return r;
}

using Socket = asio::ip::tcp::socket;  // any_io_executor: the connection's strand

class Session final : public Follower,
                      public SessionHandle,
                      public GatheredSocket<Socket>::Owner,
                      public std::enable_shared_from_this<Session> {
 public:
  using Request = http::request<http::string_body>;

  Session(Gateway::Impl& gw, Socket socket, std::string cookie_token)
      : gw_(gw),
        hub_(gw.deps.hub.impl()),
        ws_(std::move(socket)),
        ex_(ws_.get_executor()),
        timer_(ex_),
        queue_(gw.config.outbound_queue_bytes),
        limiter_(gw.config.frames_per_second, gw.config.burst_frames),
        cookie_token_(std::move(cookie_token)) {
    ws_.next_layer().set_owner(this);
  }

  ~Session() override {
    leave_all();
    if (registered_) gw_.remove(this);
  }

  void start(Request req) {
    asio::co_spawn(ex_, serve(std::make_unique<Request>(std::move(req))),
                   [self = shared_from_this()](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         ops::log_error("gateway session failed", {{"error", x.what()}});
                       } catch (...) {
                         ops::log_error("gateway session failed");
                       }
                     }
                     self->finish();
                   });
  }

  // Follower: any thread. Deliveries wait in the inbox; one drain handler is posted when the
  // inbox goes from empty to non-empty (not one handler per delivery: at 40k deliveries/s the
  // posted handlers and their allocations were a tenth of the server's CPU). The inbox is
  // bounded: a session whose strand falls that far behind is a slow consumer (4010).
  void deliver(const DeliveryPtr& d) override {
    const std::size_t bytes = d->frame ? d->frame->size() : 0;
    bool post = false;
    {
      std::lock_guard lock(inbox_mu_);
      if (inbox_overflow_) return;
      if (!inbox_.empty() && (inbox_.size() >= kMaxInboxDeliveries ||
                              inbox_bytes_ + bytes > 2 * gw_.config.outbound_queue_bytes)) {
        inbox_overflow_ = true;
        std::vector<DeliveryPtr>().swap(inbox_);
        inbox_bytes_ = 0;
      } else {
        inbox_.push_back(d);
        inbox_bytes_ += bytes;
      }
      post = !inbox_posted_;
      inbox_posted_ = true;
    }
    if (post) asio::post(ex_, [self = shared_from_this()] { self->drain_inbox(); });
  }

  // SessionHandle: any thread.
  void drain_close() override {
    asio::post(ex_, [self = shared_from_this()] { self->close(kCloseDraining, "server draining"); });
  }

 private:
  enum class Phase : std::uint8_t { kHandshake, kAwaitIdentify, kIdentifying, kReady, kClosing };

  struct RoomState {
    Id room = 0;
    std::uint32_t gen = 0;   // tells a stale fetch answer (room left and rejoined) from a live one
    bool repairing = false;  // a replay/repair episode is under way (cap checked at its start)
    RoomCursor cursor;
  };
  struct PendingAck {
    Id room = 0;
    std::int64_t seq = 0;
    Frame frame;
  };

  // A store/auth completion that continues on the strand if the session still exists.
  template <class Fn>
  auto on_strand(Fn fn) {
    return [weak = weak_from_this(), fn = std::move(fn)](auto result) mutable {
      auto self = weak.lock();
      if (!self) return;
      auto ex = self->ex_;
      asio::post(ex, [self = std::move(self), fn = std::move(fn),
                      result = std::move(result)]() mutable { fn(*self, std::move(result)); });
    };
  }

  bool closing() const { return phase_ == Phase::kClosing; }

  // ---------------------------------------------------------------------------- reading

  // The reader: one coroutine for the connection's life (its frame is part of the per-connection
  // cost, so it holds as little as possible: the request lives on the heap until the handshake).
  asio::awaitable<void> serve(std::unique_ptr<Request> req) {
    {
      // Beast's handshake/close timeouts, but not its idle timer: the session's own timer sends
      // the WebSocket pings and enforces the heartbeat (one pending timer per connection, not two).
      auto t = websocket::stream_base::timeout::suggested(beast::role_type::server);
      t.idle_timeout = websocket::stream_base::none();
      t.keep_alive_pings = false;
      ws_.set_option(t);
    }
    ws_.read_message_max(gw_.config.max_frame_bytes);
    ws_.auto_fragment(false);
    ws_.write_buffer_bytes(kWriteBufferBytes);
    {
      auto [ec] = co_await ws_.async_accept(*req, asio::as_tuple(asio::use_awaitable));
      req.reset();
      if (ec) co_return;  // Beast answered the bad upgrade request already
    }
    phase_ = Phase::kAwaitIdentify;
    last_activity_ = last_ping_ = SteadyClock::now();
    if (!gw_.add(std::static_pointer_cast<SessionHandle>(shared_from_this()))) {
      close(kCloseDraining, "server draining");
    } else {
      registered_ = true;
      enqueue(gw_.hello, 0, false);
      arm_timer(last_activity_ + std::chrono::milliseconds(gw_.config.identify_timeout_ms));
    }
    // Reads go through a small fixed chunk into `msg_`: a pending read holds no heap buffer
    // (ws.async_read(dynamic_buffer) would keep ~1.5 KiB prepared per idle connection).
    for (;;) {
      auto [ec, n] = co_await ws_.async_read_some(asio::buffer(chunk_), asio::as_tuple(asio::use_awaitable));
      if (ec) break;  // closed (by either side), too big (Beast closed with 1009), or broken
      msg_.append(chunk_.data(), n);
      if (!ws_.is_message_done()) continue;
      if (!closing()) {
        if (!ws_.got_text()) {
          close(kCloseDecode, "binary frames are not supported");
        } else {
          on_text(msg_);
        }
      }
      msg_.clear();
      if (msg_.capacity() > kIdleMessageBytes) std::string().swap(msg_);
    }
  }

  // The connection is over (the reader ended): release everything now.
  void finish() {
    phase_ = Phase::kClosing;
    leave_all();
    acks_.clear();
    queue_.clear();
    timer_.cancel();
    if (registered_) {
      gw_.remove(this);
      registered_ = false;
    }
  }

  void on_text(std::string_view text) {
    if (revoked_) return;  // closing as soon as the store says why
    last_activity_ = SteadyClock::now();
    const auto decision = limiter_.on_frame(steady_ms());
    if (decision.verdict == FrameLimiter::Verdict::kAbuse) {
      gw_.metrics.rate_limit_closes.inc();
      close(kCloseRateLimited, "rate limited");
      return;
    }
    auto parsed = api::parse_object(text);
    std::string id;
    bool bad_id = false;
    if (parsed) {
      if (const json::value* v = parsed->if_contains("id"); v && !v->is_null()) {
        if (v->is_string() && !v->get_string().empty() &&
            v->get_string().size() <= kMaxRequestIdBytes) {
          id = std::string(v->get_string());
        } else {
          bad_id = true;
        }
      }
    }
    if (decision.verdict == FrameLimiter::Verdict::kLimited) {
      gw_.metrics.rate_limited.inc();
      core::Error e = core::make_error(Errc::kRateLimited, "too many frames; slow down");
      e.retry_after_ms = decision.retry_after_ms;
      send_error(e, id);
      return;
    }
    if (!parsed) return send_error(parsed.error(), {});
    if (bad_id) return send_error(invalid("id: must be a string of 1 to 64 characters"), {});
    json::object& o = *parsed;
    const json::value* op_v = o.if_contains("op");
    if (!op_v || !op_v->is_string()) return send_error(invalid("op: must be a string"), id);
    const std::string_view op = op_v->get_string();
    json::object d;
    if (json::value* dv = o.if_contains("d"); dv && !dv->is_null()) {
      if (!dv->is_object()) return send_error(invalid("d: must be an object"), id);
      d = std::move(dv->get_object());
    }
    if (op == "identify") return on_identify(d, std::move(id));
    if (phase_ == Phase::kAwaitIdentify) return close(kCloseNotIdentified, "identify first");
    if (op == "ping") return enqueue(make_frame(api::frame("pong", nullptr, id)), 0, false);
    if (op != "delivered" && phase_ == Phase::kReady) note_activity();
    if (op == "send") return on_send(d, std::move(id));
    if (op == "read") return on_read(d, std::move(id));
    if (op == "delivered") return on_delivered(d, std::move(id));
    if (op == "typing") return on_typing(d, std::move(id));
    if (op == "presence") return on_presence(d, std::move(id));
    if (op == "react") return on_react(d, std::move(id));
    send_error(invalid("unknown op"), id);
  }

  // ---------------------------------------------------------------------------- identify

  void on_identify(json::object& d, std::string id) {
    if (phase_ != Phase::kAwaitIdentify) return send_error(invalid("already identified"), id);
    if (const json::value* p = d.if_contains("protocol"); p && !p->is_null()) {
      if (!p->is_number()) return send_error(invalid("protocol: must be a number"), id);
      const bool v1 = (p->is_int64() && p->get_int64() == kProtocolVersion) ||
                      (p->is_uint64() && p->get_uint64() == kProtocolVersion) ||
                      (p->is_double() && p->get_double() == kProtocolVersion);
      if (!v1) return close(kCloseProtocol, "unsupported protocol version");
    }
    auto token = api::get_optional_string(d, "token");
    if (!token) return send_error(token.error(), id);
    auto resume = parse_resume(d);
    if (!resume) return send_error(resume.error(), id);
    std::string credential = *token ? std::move(**token) : std::move(cookie_token_);
    std::string().swap(cookie_token_);
    if (credential.empty()) return close(kCloseAuthFailed, "authentication failed");

    // Ephemeral streams the client renders (docs/protocol.md, "identify"): presence and typing
    // are sent only to connections that ask (a bot or a load generator does not pay for them).
    if (const json::value* sub = d.if_contains("subscribe"); sub && !sub->is_null()) {
      if (!sub->is_array()) return send_error(invalid("subscribe: must be an array of strings"), id);
      for (const json::value& v : sub->get_array()) {
        if (!v.is_string()) return send_error(invalid("subscribe: must be an array of strings"), id);
        if (v.get_string() == "presence") want_presence_ = true;
        if (v.get_string() == "typing") want_typing_ = true;
      }
    }
    resume_ = std::move(*resume);
    identify_id_ = std::move(id);
    phase_ = Phase::kIdentifying;
    gw_.deps.auth.authenticate(
        std::move(credential),
        on_strand([](Session& s, core::Result<auth::AuthContext> r) { s.on_authenticated(std::move(r)); }));
  }

  void on_authenticated(core::Result<auth::AuthContext> r) {
    if (phase_ != Phase::kIdentifying) return;
    if (!r) {
      if (r.error().code == Errc::kUnauthorized || r.error().code == Errc::kNotFound) {
        return close(kCloseAuthFailed, "authentication failed");
      }
      return close(kCloseServerError, "server error; reconnect");
    }
    actor_ = r->actor;
    // The user's topic first: a room joined from now on is announced there, so the snapshot
    // below cannot miss it.
    hub_.follow(bus::Topic{bus::Topic::Kind::kUser, actor_.user_id}, shared_from_this());
    user_followed_ = true;
    gw_.deps.chat.list_rooms(
        actor_, on_strand([user = std::move(r->user)](
                              Session& s, core::Result<std::vector<core::RoomSummary>> rooms) mutable {
          s.on_snapshot(std::move(user), std::move(rooms));
        }));
  }

  void on_snapshot(core::User user, core::Result<std::vector<core::RoomSummary>> r) {
    if (phase_ != Phase::kIdentifying) return;
    if (!r) return close(kCloseServerError, "server error; reconnect");
    const std::string epoch = gw_.deps.store.epoch();
    const bool same_epoch = resume_ && resume_->epoch == epoch;
    const std::int64_t cap = gw_.config.replay_cap;

    json::array rooms_json;
    rooms_json.reserve(r->size());
    std::vector<Id> resets;
    rooms_.reserve(r->size());
    for (const core::RoomSummary& s : *r) {
      rooms_json.push_back(api::to_json(s));
      const Id room = s.room.id;
      const std::int64_t last = s.room.last_seq;
      std::int64_t delivered = last;
      if (const std::int64_t* have = resume_ ? resume_->find(room) : nullptr) {
        if (same_epoch && *have <= last && last - *have <= cap) {
          delivered = *have;
        } else {
          resets.push_back(room);
        }
      }
      RoomState rs{room, ++next_gen_, false, RoomCursor(delivered)};
      rs.cursor.raise_known(last);
      rooms_.push_back(std::move(rs));
    }
    std::sort(rooms_.begin(), rooms_.end(),
              [](const RoomState& a, const RoomState& b) { return a.room < b.room; });
    rooms_.erase(std::unique(rooms_.begin(), rooms_.end(),
                             [](const RoomState& a, const RoomState& b) { return a.room == b.room; }),
                 rooms_.end());
    auto self = shared_from_this();
    for (const RoomState& rs : rooms_) hub_.follow(bus::Topic{bus::Topic::Kind::kRoom, rs.room}, self);

    json::object d;
    d["user"] = api::to_json(user, true);
    d["session_id"] = core::id_to_string(actor_.session_id);
    d["epoch"] = epoch;
    d["rooms"] = std::move(rooms_json);
    {
      std::vector<Id> ids;
      ids.reserve(rooms_.size());
      for (const RoomState& rs : rooms_) ids.push_back(rs.room);
      const std::int64_t now_ms = gw_.deps.clock.now_ms();
      json::object presence;
      const auto snapshot = want_presence_ ? gw_.presence.snapshot(ids, actor_.user_id)
                                           : std::vector<PresenceChange>();
      for (const PresenceChange& c : snapshot) {
        presence[core::id_to_string(c.user_id)] =
            json::object{{"status", to_string(c.status)}, {"last_seen", nullptr}};
      }
      d["presence"] = std::move(presence);
      gw_.presence.connect(this, actor_.user_id, user.invisible, user.last_seen, std::move(ids),
                           now_ms);
      presence_connected_ = true;
      last_presence_report_ = SteadyClock::now();
    }
    phase_ = Phase::kReady;
    next_check_ = SteadyClock::now() + revalidate_interval();
    arm_timer(std::min({next_check_, last_ping_ + std::chrono::milliseconds(gw_.config.heartbeat_ms),
                        last_activity_ + 2 * std::chrono::milliseconds(gw_.config.heartbeat_ms)}));
    // Forced: the snapshot of a user in many rooms may exceed the cap on its own.
    enqueue(make_frame(api::frame("ready", d, identify_id_)), 0, true);
    std::string().swap(identify_id_);
    resume_.reset();
    if (closing()) return;

    for (Id room : resets) {
      if (RoomState* rs = find_room(room)) send_reset(*rs);
      if (closing()) return;
    }
    for (std::size_t i = 0; i < rooms_.size() && !closing(); ++i) maybe_fetch(rooms_[i].room);

    // The snapshot was read before the rooms' topics were followed: an event committed in
    // between reached neither. A second read after following settles it (its last_seq values
    // open the gap, the cursors fetch what is missing). Only ids and last_seqs are needed: one
    // indexed read, not a second full room list (that doubled the store work of an identify).
    gw_.deps.store.room_heads_for_user(
        actor_.user_id, on_strand([](Session& s, core::Result<std::vector<store::RoomHead>> heads) {
          s.on_settle_heads(std::move(heads));
        }));
  }

  void on_settle_heads(core::Result<std::vector<store::RoomHead>> r) {
    if (phase_ != Phase::kReady || !r) return;
    bool joined = false;
    for (const store::RoomHead& h : *r) {
      if (closing()) return;
      if (RoomState* rs = find_room(h.room_id)) {
        rs->cursor.raise_known(h.last_seq);
        maybe_fetch(h.room_id);
      } else {
        joined = true;
      }
    }
    // Joined while identifying (room.joined publications before `ready` are not acted on): the
    // room.joined frame needs the room's summary, so read the full list (rare).
    if (joined && !closing()) {
      gw_.deps.chat.list_rooms(
          actor_, on_strand([](Session& s, core::Result<std::vector<core::RoomSummary>> rooms) {
            s.on_settle(std::move(rooms));
          }));
    }
  }

  void on_settle(core::Result<std::vector<core::RoomSummary>> r) {
    if (phase_ != Phase::kReady || !r) return;
    for (const core::RoomSummary& s : *r) {
      if (closing()) return;
      if (RoomState* rs = find_room(s.room.id)) {
        rs->cursor.raise_known(s.room.last_seq);
        maybe_fetch(s.room.id);
      } else {
        // Joined while identifying (room.joined publications before `ready` are not acted on).
        join_room(s.room.id, s.room.last_seq, room_joined_frame(s));
      }
    }
  }

  // ---------------------------------------------------------------------------- send

  void on_send(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto room = api::get_id(d, "room_id");
    if (!room) return send_error(room.error(), id);
    auto txn = api::get_string(d, "client_txn_id");
    if (!txn) return send_error(txn.error(), id);
    auto attachments = api::get_id_list(d, "attachments", store::kMaxAttachmentsPerMessage);
    if (!attachments) return send_error(attachments.error(), id);
    // "body" may be left out of a message that carries attachments.
    auto body = d.contains("body") || attachments->empty() ? api::get_string(d, "body")
                                                           : core::Result<std::string>(std::string());
    if (!body) return send_error(body.error(), id);
    auto reply_to = api::get_optional_id(d, "reply_to");
    if (!reply_to) return send_error(reply_to.error(), id);
    auto thread_root = api::get_optional_id(d, "thread_root");
    if (!thread_root) return send_error(thread_root.error(), id);
    if (inflight_sends_ >= kMaxInflightSends) {
      core::Error e = core::make_error(Errc::kRateLimited, "too many sends in flight");
      e.retry_after_ms = 100;
      gw_.metrics.rate_limited.inc();
      return send_error(e, id);
    }
    chat::SendRequest req;
    req.room_id = *room;
    req.client_txn_id = std::move(*txn);
    req.body = std::move(*body);
    req.reply_to = reply_to->value_or(0);
    req.thread_root = thread_root->value_or(0);
    req.attachment_ids = std::move(*attachments);
    ++inflight_sends_;
    gw_.deps.chat.send(actor_, std::move(req),
                       on_strand([id = std::move(id)](Session& s, core::Result<store::AppendResult> r) {
                         s.on_sent(id, std::move(r));
                       }));
  }

  void on_sent(const std::string& id, core::Result<store::AppendResult> r) {
    --inflight_sends_;
    if (closing()) return;
    if (!r) return send_error(r.error(), id);
    const core::RoomEvent& ev = r->event;
    if (typing_room_ == ev.room_id) stop_typing();
    json::object d;
    d["message_id"] = core::id_to_string(ev.message ? ev.message->id : 0);
    d["room_id"] = core::id_to_string(ev.room_id);
    d["seq"] = ev.seq;
    d["duplicate"] = r->duplicate;
    Frame ack = make_frame(api::frame("ack", d, id));
    // The chat service published the event before answering, so it is normally queued to this
    // session already. If it is not (held behind a gap, or still on its way over the bus), the
    // ack waits for it: a client never sees the ack before the event.
    if (RoomState* rs = find_room(ev.room_id); rs && rs->cursor.delivered() < ev.seq) {
      rs->cursor.raise_known(ev.seq);
      acks_.push_back(PendingAck{ev.room_id, ev.seq, std::move(ack)});
      maybe_fetch(ev.room_id);
      return;
    }
    enqueue(std::move(ack), 0, false);
  }

  // ---------------------------------------------------------------------------- live ops

  // A `seq` field: a JSON integer 0..2^53.
  static core::Result<std::optional<std::int64_t>> get_seq(const json::object& d) {
    const json::value* v = d.if_contains("seq");
    if (!v || v->is_null()) return std::optional<std::int64_t>();
    if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= (1LL << 53)) {
      return std::optional<std::int64_t>(v->get_int64());
    }
    if (v->is_uint64() && v->get_uint64() <= (1ULL << 53)) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
    }
    return invalid("seq: must be an integer >= 0");
  }

  // Replies `ok` {ReadState} to a request that had an id; errors always.
  void on_read_state(const std::string& id, core::Result<core::ReadState> r) {
    if (closing()) return;
    if (!r) return send_error(r.error(), id);
    if (!id.empty()) enqueue(make_frame(api::frame("ok", api::to_json(*r), id)), 0, false);
  }

  void on_read(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto room = api::get_id(d, "room_id");
    if (!room) return send_error(room.error(), id);
    auto seq = get_seq(d);
    if (!seq) return send_error(seq.error(), id);
    gw_.live.mark_read(actor_, *room, *seq,
                       on_strand([id = std::move(id)](Session& s, core::Result<core::ReadState> r) {
                         s.on_read_state(id, std::move(r));
                       }));
  }

  void on_delivered(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto room = api::get_id(d, "room_id");
    if (!room) return send_error(room.error(), id);
    auto seq = get_seq(d);
    if (!seq) return send_error(seq.error(), id);
    if (!*seq) return send_error(invalid("seq: required"), id);
    gw_.live.delivered(actor_, *room, **seq,
                       on_strand([id = std::move(id)](Session& s, core::Result<core::ReadState> r) {
                         s.on_read_state(id, std::move(r));
                       }));
  }

  void publish_typing(Id room, bool typing) {
    json::object d;
    d["room_id"] = core::id_to_string(room);
    d["user_id"] = core::id_to_string(actor_.user_id);
    d["typing"] = typing;
    if (typing) d["expires_in_ms"] = static_cast<std::int64_t>(kTypingTtl.count());
    hub_.bus.publish(bus::Publication{bus::Topic{bus::Topic::Kind::kRoom, room}, 0,
                                      make_frame(api::frame("typing", d))});
  }

  void stop_typing() {
    const Id room = typing_room_;
    typing_room_ = 0;
    if (room != 0) publish_typing(room, false);
  }

  void on_typing(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto room = api::get_id(d, "room_id");
    if (!room) return send_error(room.error(), id);
    bool typing = true;
    if (const json::value* v = d.if_contains("typing"); v && !v->is_null()) {
      if (!v->is_bool()) return send_error(invalid("typing: must be a boolean"), id);
      typing = v->get_bool();
    }
    // Membership: the session follows exactly the rooms the user is a member of; the policy
    // decides what members may do.
    if (!find_room(*room)) return send_error(core::make_error(Errc::kNotFound, "room not found"), id);
    if (auto st = auth::authorize(auth::Subject{actor_.user_id, actor_.role, core::MemberRole::kMember},
                                  auth::Action::kTyping);
        !st) {
      return send_error(st.error(), id);
    }
    const auto now = SteadyClock::now();
    if (!typing) {
      if (typing_room_ == *room) stop_typing();
    } else if (typing_room_ == *room && now - typing_sent_ < kTypingRefresh) {
      typing_until_ = now + kTypingTtl;  // a refresh: extended, not republished
    } else {
      const auto decision = typing_limiter_.on_frame(steady_ms());
      if (decision.verdict != FrameLimiter::Verdict::kAllow) {
        gw_.metrics.rate_limited.inc();
        core::Error e = core::make_error(Errc::kRateLimited, "typing: too many notifications");
        e.retry_after_ms = std::max<std::int64_t>(decision.retry_after_ms, 1);
        return send_error(e, id);
      }
      if (typing_room_ != 0 && typing_room_ != *room) stop_typing();
      typing_room_ = *room;
      typing_until_ = now + kTypingTtl;
      typing_sent_ = now;
      publish_typing(*room, true);
      if (typing_until_ < timer_.expiry()) arm_timer(typing_until_);
    }
    if (!id.empty()) enqueue(make_frame(api::frame("ok", nullptr, id)), 0, false);
  }

  void on_presence(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto status = api::get_optional_string(d, "status");
    if (!status) return send_error(status.error(), id);
    std::optional<bool> invisible;
    if (const json::value* v = d.if_contains("invisible"); v && !v->is_null()) {
      if (!v->is_bool()) return send_error(invalid("invisible: must be a boolean"), id);
      invisible = v->get_bool();
    }
    if (*status && **status != "online" && **status != "away") {
      return send_error(invalid("status: must be \"online\" or \"away\""), id);
    }
    if (!*status && !invisible) return send_error(invalid("status or invisible required"), id);
    if (*status) gw_.presence.report(this, **status == "away", gw_.deps.clock.now_ms());
    if (!invisible) {
      if (!id.empty()) enqueue(make_frame(api::frame("ok", nullptr, id)), 0, false);
      return;
    }
    // Invisibility is the user's setting (all devices, later connections): stored first.
    gw_.live.update_settings(actor_, std::nullopt, invisible,
                             on_strand([id = std::move(id)](Session& s, core::Result<core::User> u) {
                               if (s.closing()) return;
                               if (!u) return s.send_error(u.error(), id);
                               s.gw_.presence.set_invisible(u->id, u->invisible);
                               if (!id.empty()) {
                                 s.enqueue(make_frame(api::frame("ok", nullptr, id)), 0, false);
                               }
                             }));
  }

  void on_react(const json::object& d, std::string id) {
    if (phase_ != Phase::kReady) return send_error(invalid("not identified yet"), id);
    auto room = api::get_id(d, "room_id");
    if (!room) return send_error(room.error(), id);
    auto message = api::get_id(d, "message_id");
    if (!message) return send_error(message.error(), id);
    auto emoji = api::get_string(d, "emoji");
    if (!emoji) return send_error(emoji.error(), id);
    bool add = true;
    if (const json::value* v = d.if_contains("add"); v && !v->is_null()) {
      if (!v->is_bool()) return send_error(invalid("add: must be a boolean"), id);
      add = v->get_bool();
    }
    gw_.live.react(actor_, *room, *message, std::move(*emoji), add,
                   on_strand([id = std::move(id)](Session& s, core::Result<store::ReactionResult> r) {
                     if (s.closing()) return;
                     if (!r) return s.send_error(r.error(), id);
                     if (id.empty()) return;
                     json::object o;
                     o["changed"] = r->changed;
                     o["seq"] = r->changed ? json::value(r->event.seq) : json::value(nullptr);
                     s.enqueue(make_frame(api::frame("ok", o, id)), 0, false);
                   }));
  }

  // Room-topic ephemeral frames the client did not subscribe to are not sent (the op is the
  // frame's first key: api::frame writes it first).
  bool wants(const std::string& frame) const {
    static constexpr std::string_view kPresence = R"({"op":"presence")";
    static constexpr std::string_view kTyping = R"({"op":"typing")";
    if (!want_presence_ && std::string_view(frame).starts_with(kPresence)) return false;
    if (!want_typing_ && std::string_view(frame).starts_with(kTyping)) return false;
    return true;
  }

  // Any request but a ping counts as activity for presence (reported at most every
  // activity_report_ms, so the tracker's lock is not taken per frame).
  void note_activity() {
    const auto now = SteadyClock::now();
    if (now - last_presence_report_ <
        std::chrono::milliseconds(gw_.presence.config().activity_report_ms)) {
      return;
    }
    last_presence_report_ = now;
    gw_.presence.activity(this, gw_.deps.clock.now_ms());
  }

  // Sends the acks of `room` whose event has been delivered (all of them if the room is gone).
  void flush_acks(Id room) {
    if (acks_.empty() || closing()) return;
    const RoomState* rs = find_room(room);
    std::vector<Frame> ready;
    std::erase_if(acks_, [&](PendingAck& a) {
      if (a.room != room || (rs && a.seq > rs->cursor.delivered())) return false;
      ready.push_back(std::move(a.frame));
      return true;
    });
    for (Frame& f : ready) {
      enqueue(std::move(f), 0, false);
      if (closing()) return;
    }
  }

  // ---------------------------------------------------------------------------- deliveries

  void drain_inbox() {
    bool overflow = false;
    {
      std::lock_guard lock(inbox_mu_);
      batch_.swap(inbox_);  // batch_ is empty here; its capacity is reused by the inbox
      inbox_bytes_ = 0;
      inbox_posted_ = false;
      overflow = inbox_overflow_;
      inbox_overflow_ = false;
    }
    if (overflow) {
      batch_.clear();
      if (!closing()) gw_.metrics.slow_consumers.inc();
      close(kCloseSlowConsumer, "slow consumer");
    }
    // Corked: the frames of the whole batch are queued first and go out in one write.
    corked_ = true;
    for (const DeliveryPtr& d : batch_) on_delivery(*d);
    corked_ = false;
    batch_.clear();
    if (!writing_ && !closing() && !queue_.empty() && !ws_.next_layer().writing()) write_next();
    if (batch_.capacity() > kIdleInboxCapacity) std::vector<DeliveryPtr>().swap(batch_);
  }

  void on_delivery(const Delivery& d) {
    if (d.kind == Delivery::Kind::kRevoked) return on_revoked(d.session_id);
    if (phase_ != Phase::kReady) return;
    switch (d.kind) {
      case Delivery::Kind::kEphemeral:
        if (d.room_id != 0 && !wants(*d.frame)) return;
        return enqueue(d.frame, 0, false);
      case Delivery::Kind::kRoomJoined:
        return on_room_joined(d);
      case Delivery::Kind::kRoomEvent: {
        RoomState* rs = find_room(d.room_id);
        if (!rs) return;  // not (or no longer) following: a publication still in flight
        std::vector<CursorItem> out;
        const auto offer = rs->cursor.offer(CursorItem{d.seq, d.frame, d.left_user, d.received_ns}, out);
        emit(d.room_id, out, false);
        if (closing()) return;
        if (offer == RoomCursor::Offer::kBuffered || offer == RoomCursor::Offer::kDropped) {
          maybe_fetch(d.room_id);
        }
        flush_acks(d.room_id);
        return;
      }
      case Delivery::Kind::kRevoked:
        return;
    }
  }

  // Sends cursor output in order. A member.left for this user ends the room for the session:
  // it is the last event sent for it.
  void emit(Id room, std::vector<CursorItem>& items, bool forced) {
    for (CursorItem& it : items) {
      const bool left = it.left_user != 0 && it.left_user == actor_.user_id;
      enqueue(std::move(it.frame), it.stamp_ns, forced);
      if (closing()) return;
      if (left) return leave_room(room);
    }
  }

  void on_room_joined(const Delivery& d) {
    if (RoomState* rs = find_room(d.room_id)) {
      rs->cursor.raise_known(d.seq);
      return maybe_fetch(d.room_id);
    }
    if (!d.dm_peer_unknown) return join_room(d.room_id, d.seq, d.frame);
    // A DM this user opened: the publisher could not name the peer; look it up.
    gw_.deps.chat.room(actor_, d.room_id,
                       on_strand([](Session& s, core::Result<chat::RoomDetails> r) {
                         s.on_dm_details(std::move(r));
                       }));
  }

  void on_dm_details(core::Result<chat::RoomDetails> r) {
    if (phase_ != Phase::kReady || !r) return;
    core::RoomSummary s;
    s.room = r->room;
    for (const core::Member& m : r->members) {
      if (m.user_id == actor_.user_id) {
        s.self = m;
      } else {
        s.dm_peers.push_back(m.user_id);
      }
    }
    join_room(s.room.id, s.room.last_seq, room_joined_frame(s));
  }

  // A room joined after `ready` (a DM opened, a group created or joined): its members who are
  // online or away, as one `presence` frame, since no change of theirs will announce them.
  void send_presence_snapshot(Id room) {
    const auto snapshot = gw_.presence.snapshot({room}, actor_.user_id);
    if (snapshot.empty()) return;
    json::object users;
    for (const PresenceChange& c : snapshot) {
      users[core::id_to_string(c.user_id)] =
          json::object{{"status", to_string(c.status)}, {"last_seen", nullptr}};
    }
    json::object d;
    d["room_id"] = core::id_to_string(room);
    d["users"] = std::move(users);
    enqueue(make_frame(api::frame("presence", d)), 0, false);
  }

  void join_room(Id room, std::int64_t last_seq, Frame frame) {
    if (find_room(room)) return;
    enqueue(std::move(frame), 0, false);
    if (closing()) return;
    hub_.follow(bus::Topic{bus::Topic::Kind::kRoom, room}, shared_from_this());
    if (presence_connected_) {
      gw_.presence.join(this, room);
      if (want_presence_) send_presence_snapshot(room);
    }
    RoomState rs{room, ++next_gen_, false, RoomCursor(last_seq)};
    // Events published between room.joined and this subscription are only in the store.
    rs.cursor.request_probe();
    auto it = std::lower_bound(rooms_.begin(), rooms_.end(), room,
                               [](const RoomState& a, Id r) { return a.room < r; });
    rooms_.insert(it, std::move(rs));
    maybe_fetch(room);
  }

  void on_revoked(Id session_id) {
    if (phase_ != Phase::kIdentifying && phase_ != Phase::kReady) return;
    if (session_id != 0 && session_id != actor_.session_id) return;
    if (session_id != 0) return close(kCloseRevoked, "session revoked");
    // Every session of the user: deactivation, or a revoke-all. Stop delivering now, then ask
    // the store which it was (4501 is final for a different reason than 4500).
    leave_all();
    revoked_ = true;
    gw_.deps.store.user_by_id(actor_.user_id, on_strand([](Session& s, core::Result<core::User> u) {
      const bool deactivated = u && u->status == core::UserStatus::kDeactivated;
      s.close(deactivated ? kCloseDeactivated : kCloseRevoked,
              deactivated ? "user deactivated" : "session revoked");
    }));
  }

  // ---------------------------------------------------------------------------- rooms

  RoomState* find_room(Id room) {
    auto it = std::lower_bound(rooms_.begin(), rooms_.end(), room,
                               [](const RoomState& a, Id r) { return a.room < r; });
    return it != rooms_.end() && it->room == room ? &*it : nullptr;
  }

  void leave_room(Id room) {
    auto it = std::lower_bound(rooms_.begin(), rooms_.end(), room,
                               [](const RoomState& a, Id r) { return a.room < r; });
    if (it == rooms_.end() || it->room != room) return;
    hub_.unfollow(bus::Topic{bus::Topic::Kind::kRoom, room}, this);
    if (typing_room_ == room) stop_typing();
    if (presence_connected_) gw_.presence.leave(this, room);
    rooms_.erase(it);
    flush_acks(room);
  }

  void leave_all() {
    if (typing_room_ != 0) stop_typing();
    if (presence_connected_) {
      gw_.presence.disconnect(this, gw_.deps.clock.now_ms());
      presence_connected_ = false;
    }
    if (user_followed_) hub_.unfollow(bus::Topic{bus::Topic::Kind::kUser, actor_.user_id}, this);
    user_followed_ = false;
    for (const RoomState& rs : rooms_) hub_.unfollow(bus::Topic{bus::Topic::Kind::kRoom, rs.room}, this);
    rooms_.clear();
    rooms_.shrink_to_fit();
  }

  // Starts a store fetch for the room's gap when one is wanted and the outbound queue has room
  // for it (replay is paced: the next page only once the queue is below half its cap).
  void maybe_fetch(Id room) {
    if (phase_ != Phase::kReady || revoked_) return;
    RoomState* rs = find_room(room);
    if (!rs || !rs->cursor.wants_fetch()) return;
    if (!rs->repairing && rs->cursor.gap() > gw_.config.replay_cap) return send_reset(*rs);
    if (queue_.bytes() > queue_.cap_bytes() / 2) {
      fetch_blocked_ = true;
      return;
    }
    rs->repairing = true;
    const std::int64_t after = rs->cursor.begin_fetch();
    gw_.metrics.gap_fetches.inc();
    const int limit = std::max(1, std::min(gw_.config.replay_cap, kFetchPage));
    gw_.deps.chat.events_since(
        actor_, room, after, limit,
        on_strand([room, gen = rs->gen](Session& s, core::Result<std::vector<core::RoomEvent>> r) {
          s.on_fetched(room, gen, std::move(r));
        }));
  }

  void on_fetched(Id room, std::uint32_t gen, core::Result<std::vector<core::RoomEvent>> r) {
    RoomState* rs = find_room(room);
    if (!rs || rs->gen != gen || closing()) return;
    if (!r) {
      rs->cursor.abandon_fetch();
      return send_reset(*rs);
    }
    std::vector<CursorItem> items;
    items.reserve(r->size());
    for (const core::RoomEvent& e : *r) items.push_back(item_of(e));
    std::vector<CursorItem> out;
    const auto outcome = rs->cursor.end_fetch(std::move(items), out);
    emit(room, out, true);
    if (closing()) return;
    rs = find_room(room);
    if (!rs || rs->gen != gen) return;  // the user left the room in what was just sent
    if (outcome == RoomCursor::Fetched::kStuck) return send_reset(*rs);
    if (outcome == RoomCursor::Fetched::kCaughtUp) rs->repairing = false;
    flush_acks(room);
    maybe_fetch(room);
  }

  void send_reset(RoomState& rs) {
    const Id room = rs.room;
    const std::int64_t last = rs.cursor.reset();
    rs.repairing = false;
    gw_.metrics.replay_resets.inc();
    json::object d;
    d["room_id"] = core::id_to_string(room);
    d["last_seq"] = last;
    enqueue(make_frame(api::frame("room.reset", d)), 0, true);
    flush_acks(room);
  }

  void pump_fetches() {
    fetch_blocked_ = false;
    std::vector<Id> ids;
    ids.reserve(rooms_.size());
    for (const RoomState& rs : rooms_) {
      if (rs.cursor.wants_fetch()) ids.push_back(rs.room);
    }
    for (Id room : ids) {
      if (closing() || fetch_blocked_) return;
      maybe_fetch(room);
    }
  }

  // ---------------------------------------------------------------------------- writing

  void send_error(const core::Error& e, std::string_view re) { enqueue(error_frame(e, re), 0, false); }

  void enqueue(Frame f, std::int64_t stamp_ns, bool forced) {
    if (closing()) return;
    if (forced) {
      queue_.push_forced(std::move(f), stamp_ns);
    } else if (queue_.push(std::move(f), stamp_ns) == OutboundQueue::Push::kOverCap) {
      gw_.metrics.slow_consumers.inc();
      return close(kCloseSlowConsumer, "slow consumer");
    }
    if (!writing_ && !corked_ && !ws_.next_layer().writing()) write_next();
  }

  // Writes the first kMaxGatherFrames queued frames in one system call, as WebSocket text
  // frames encoded here (gateway/internal/gathered_socket.h): the header per frame, the payload
  // shared with every other recipient. REQUIRES: !writing_, the socket idle, queue not empty.
  void write_next() {
    if (!ws_.is_open()) return;  // Beast got or sent a close frame: nothing may follow it
    if (!out_) out_ = std::make_unique<WriteBatch>();
    WriteBatch& b = *out_;
    b.count = std::min(queue_.size(), kMaxGatherFrames);
    for (std::size_t i = 0; i < b.count; ++i) {
      const Frame& f = queue_.at(i).frame;
      const std::size_t header = encode_text_frame_header(f->size(), b.headers[i]);
      b.frames[i] = f;
      b.buffers[2 * i] = asio::buffer(b.headers[i].data(), header);
      b.buffers[2 * i + 1] = asio::buffer(*f);
    }
    writing_ = true;
    ws_.next_layer().write_frames(std::span(b.buffers.data(), 2 * b.count),
                                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_write(ec);
                                  });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    WriteBatch& b = *out_;
    const std::size_t written = b.count;
    for (std::size_t i = 0; i < written; ++i) b.frames[i].reset();
    b.count = 0;
    if (ec) return hard_close();
    if (closing()) return;  // the queue was cleared; the close frame follows (start_close)
    const std::int64_t now = steady_ns();
    for (std::size_t i = 0; i < written; ++i) {
      if (const std::int64_t stamp = queue_.front().stamp_ns; stamp != 0) {
        gw_.metrics.events_delivered.inc();
        gw_.metrics.delivery_seconds.observe(static_cast<double>(now - stamp) / 1e9);
      }
      queue_.pop();
    }
    if (queue_.empty()) {
      out_.reset();  // an idle session holds no write storage
    } else if (!ws_.next_layer().writing()) {
      write_next();  // else a Beast frame goes first; on_write_idle() resumes
    }
    if (fetch_blocked_ && queue_.bytes() <= queue_.cap_bytes() / 2) pump_fetches();
  }

  // GatheredSocket::Owner: a Beast frame (pong, ping) was written; frames queued meanwhile go now.
  void on_write_idle() override {
    if (!writing_ && !closing() && !queue_.empty()) write_next();
  }

  // Ends the session with a close frame carrying `code`: what is queued is dropped, a write in
  // flight finishes first (the socket writes the close frame after it); after kCloseGrace the
  // socket is closed regardless.
  void close(std::uint16_t code, const char* reason) {
    if (closing()) return;
    if (phase_ == Phase::kHandshake) return;  // nothing to close politely yet
    phase_ = Phase::kClosing;
    close_code_ = code;
    close_reason_ = reason;
    leave_all();
    acks_.clear();
    queue_.clear();
    ops::log_debug("gateway close", {{"code", std::to_string(code)},
                                     {"user_id", core::id_to_string(actor_.user_id)}});
    arm_timer(SteadyClock::now() + kCloseGrace);
    start_close();
  }

  void start_close() {
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
                    [self = shared_from_this()](beast::error_code ec) {
                      if (ec) self->hard_close();
                    });
  }

  void hard_close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).close(ec);
  }

  // ---------------------------------------------------------------------------- timer

  // One timer per session: the identify deadline, then the heartbeat, then the close grace.
  void arm_timer(SteadyClock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec) return;  // re-armed or cancelled
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    const auto now = SteadyClock::now();
    switch (phase_) {
      case Phase::kHandshake:
        return;
      case Phase::kClosing:
        return hard_close();
      case Phase::kAwaitIdentify:
        return close(kCloseNotIdentified, "not identified in time");
      case Phase::kIdentifying:
      case Phase::kReady: {
        if (typing_room_ != 0 && now >= typing_until_) stop_typing();  // expired by itself
        const auto deadline = last_activity_ + 2 * std::chrono::milliseconds(gw_.config.heartbeat_ms);
        if (now >= deadline) {
          gw_.metrics.heartbeat_closes.inc();
          return close(kCloseHeartbeat, "heartbeat timeout");
        }
        const auto ping_every = std::chrono::milliseconds(gw_.config.heartbeat_ms);
        if (now >= last_ping_ + ping_every) send_ping(now);
        if (phase_ == Phase::kReady && now >= next_check_) {
          next_check_ = now + revalidate_interval();
          revalidate();
        }
        auto next = std::min(deadline, last_ping_ + ping_every);
        if (phase_ == Phase::kReady) next = std::min(next, next_check_);
        if (typing_room_ != 0) next = std::min(next, typing_until_);
        return arm_timer(next);
      }
    }
  }

  // A WebSocket ping every heartbeat_ms keeps intermediaries from timing the connection out;
  // browsers answer it by themselves. Beast queues it behind a write in flight.
  void send_ping(SteadyClock::time_point now) {
    last_ping_ = now;
    if (pinging_) return;
    pinging_ = true;
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code) { self->pinging_ = false; });
  }

  // ---------------------------------------------------------------------------- revalidation

  // Changes made by another process (`parley admin deactivate` works on the database directly)
  // or by expiry reach no publisher: every identified session re-reads its user and session
  // periodically. Every kRevalidateMinMs at least, spread so that the node as a whole does at
  // most kRevalidatePerSecond checks a second (10k connections: every 20 s), with jitter.
  SteadyClock::duration revalidate_interval() const {
    const auto base = std::max<std::int64_t>(
        kRevalidateMinMs,
        static_cast<std::int64_t>(gw_.size()) * 1000 / kRevalidatePerSecond);
    // 75%..125% of base, from the session's address: no shared random state needed.
    const auto spread = static_cast<std::int64_t>((reinterpret_cast<std::uintptr_t>(this) >> 4) % 51);
    return std::chrono::milliseconds(base * (75 + spread) / 100);
  }

  void revalidate() {
    if (checking_ || revoked_) return;
    checking_ = true;
    gw_.deps.store.user_by_id(actor_.user_id, on_strand([](Session& s, core::Result<core::User> u) {
      s.on_user_checked(std::move(u));
    }));
  }

  void on_user_checked(core::Result<core::User> u) {
    if (phase_ != Phase::kReady || revoked_) return;
    if (!u) {
      checking_ = false;
      if (u.error().code == Errc::kNotFound) close(kCloseRevoked, "session revoked");
      return;  // the store is unavailable: try again next time
    }
    if (u->status == core::UserStatus::kDeactivated) return close(kCloseDeactivated, "user deactivated");
    gw_.deps.store.list_sessions(
        actor_.user_id, on_strand([](Session& s, core::Result<std::vector<core::Session>> r) {
          s.on_sessions_checked(std::move(r));
        }));
  }

  void on_sessions_checked(core::Result<std::vector<core::Session>> r) {
    checking_ = false;
    if (phase_ != Phase::kReady || revoked_ || !r) return;
    const std::int64_t now_ms = gw_.deps.clock.now_ms();
    for (const core::Session& s : *r) {
      if (s.id != actor_.session_id) continue;
      if (s.expires_at != 0 && s.expires_at <= now_ms) break;
      return;  // still valid
    }
    close(kCloseRevoked, "session revoked");
  }

  Gateway::Impl& gw_;
  Hub::Impl& hub_;
  // Over the bare socket rather than beast::tcp_stream: the websocket layer has its own
  // timeouts, and tcp_stream would add ~0.7 KiB per connection (its state and a larger read op).
  websocket::stream<GatheredSocket<Socket>> ws_;
  asio::any_io_executor ex_;  // the connection's strand
  asio::steady_timer timer_;
  std::array<char, kReadChunkBytes> chunk_;
  std::string msg_;  // the inbound message being assembled
  std::mutex inbox_mu_;                // guards the four inbox_ members (any thread)
  std::vector<DeliveryPtr> inbox_;      // delivered, not yet drained on the strand
  std::size_t inbox_bytes_ = 0;         // frame bytes in inbox_
  bool inbox_posted_ = false;           // a drain_inbox() is posted and has not swapped yet
  bool inbox_overflow_ = false;         // inbox hit its bound: drain closes 4010
  std::vector<DeliveryPtr> batch_;      // strand only: the inbox being drained
  OutboundQueue queue_;
  // The frames of the write in flight, their headers and the buffer sequence handed to the
  // socket (the queue may be cleared meanwhile). Allocated while the session has frames to
  // write; released when its queue empties.
  struct WriteBatch {
    std::size_t count = 0;
    std::array<Frame, kMaxGatherFrames> frames;
    std::array<std::array<std::uint8_t, kMaxFrameHeaderBytes>, kMaxGatherFrames> headers;
    std::array<asio::const_buffer, 2 * kMaxGatherFrames> buffers;
  };
  std::unique_ptr<WriteBatch> out_;
  FrameLimiter limiter_;
  std::string cookie_token_;  // until identify
  std::string identify_id_;   // until ready
  std::unique_ptr<Resume> resume_;  // until ready
  auth::Actor actor_;
  std::vector<RoomState> rooms_;  // sorted by room id
  std::vector<PendingAck> acks_;  // at most kMaxInflightSends
  SteadyClock::time_point last_activity_{};
  SteadyClock::time_point next_check_{};  // next revalidation (kReady)
  SteadyClock::time_point last_ping_{};   // last WebSocket ping sent
  const char* close_reason_ = "";
  std::uint32_t next_gen_ = 0;
  int inflight_sends_ = 0;
  std::uint16_t close_code_ = 0;
  Phase phase_ = Phase::kHandshake;
  bool writing_ = false;  // a write_next() batch is in flight
  bool corked_ = false;   // drain_inbox() is queueing a batch: write when it is done
  bool registered_ = false;
  bool user_followed_ = false;
  bool fetch_blocked_ = false;
  bool revoked_ = false;
  bool checking_ = false;  // a revalidation is in flight
  bool pinging_ = false;   // a WebSocket ping is in flight
  // Typing: the one room this connection is typing in (0 = none), when that expires, when it
  // was last published; presence: registered with the tracker, last activity report.
  Id typing_room_ = 0;
  SteadyClock::time_point typing_until_{};
  SteadyClock::time_point typing_sent_{};
  FrameLimiter typing_limiter_{kTypingPerSecond, kTypingBurst};
  SteadyClock::time_point last_presence_report_{};
  bool presence_connected_ = false;
  bool want_presence_ = false;  // identify.subscribe
  bool want_typing_ = false;
};

// The connection's socket, on a strand of its own (the transport's, when it made one).
asio::ip::tcp::socket socket_on_strand(beast::tcp_stream& stream) {
  auto& sock = stream.socket();
  auto ex = sock.get_executor();
  if (ex.target<asio::strand<asio::io_context::executor_type>>() ||
      ex.target<asio::strand<asio::any_io_executor>>()) {
    return std::move(sock);
  }
  beast::error_code ec;
  const auto protocol = sock.local_endpoint(ec).protocol();
  if (ec) return std::move(sock);  // the socket is gone; the handshake fails and ends the session
  const auto fd = sock.release(ec);
  if (ec) return std::move(sock);
  return asio::ip::tcp::socket(asio::make_strand(ex), protocol, fd);
}

}  // namespace

void accept_upgrade(Gateway& gateway, beast::tcp_stream stream,
                    http::request<http::string_body> request, std::string client_ip,
                    std::string cookie_token) {
  (void)client_ip;  // not kept: the session needs no per-connection address (memory)
  auto session = std::make_shared<Session>(gateway.impl(), socket_on_strand(stream),
                                           std::move(cookie_token));
  session->start(std::move(request));
}

}  // namespace parley::gateway
