#include "gateway/hub.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <charconv>
#include <chrono>

#include "api/json.h"
#include "gateway/internal/hub_impl.h"
#include "ops/metrics.h"

namespace parley::gateway {

namespace {

constexpr char kControl = '\x01';
constexpr std::string_view kMemberLeftPrefix = R"({"op":"member.left")";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <class T>
bool parse_number(std::string_view& s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}

// member.left frames are rare: parsing them once per node is cheaper than tagging the wire.
core::Id left_user_of(const std::string& frame) {
  if (!std::string_view(frame).starts_with(kMemberLeftPrefix)) return 0;
  boost::system::error_code ec;
  auto v = boost::json::parse(frame, ec);
  if (ec || !v.is_object()) return 0;
  const auto* d = v.get_object().if_contains("d");
  if (!d || !d->is_object()) return 0;
  auto id = api::get_id(d->get_object(), "user_id");
  return id ? *id : 0;
}

}  // namespace

std::string encode_room_joined(core::Id room_id, std::int64_t last_seq, bool dm_peer_unknown,
                               std::string_view frame) {
  std::string s;
  s.reserve(frame.size() + 48);
  s += kControl;
  s += 'J';
  s += std::to_string(room_id);
  s += ' ';
  s += std::to_string(last_seq);
  s += ' ';
  s += dm_peer_unknown ? '1' : '0';
  s += '\n';
  s += frame;
  return s;
}

std::string encode_revoked(core::Id session_id) {
  std::string s;
  s += kControl;
  s += 'R';
  s += std::to_string(session_id);
  return s;
}

std::optional<Delivery> decode_publication(const bus::Publication& p, std::int64_t received_ns) {
  if (!p.frame || p.frame->empty()) return std::nullopt;
  Delivery d;
  d.received_ns = received_ns;
  if (p.topic.kind == bus::Topic::Kind::kRoom) {
    d.room_id = p.topic.id;
    d.seq = p.seq;
    d.frame = p.frame;
    if (p.seq > 0) {
      d.kind = Delivery::Kind::kRoomEvent;
      d.left_user = left_user_of(*p.frame);
    } else {
      d.kind = Delivery::Kind::kEphemeral;
    }
    return d;
  }
  const std::string& f = *p.frame;
  if (f[0] != kControl) {
    d.kind = Delivery::Kind::kEphemeral;
    d.frame = p.frame;
    return d;
  }
  std::string_view s(f);
  s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  const char tag = s.front();
  s.remove_prefix(1);
  if (tag == 'R') {
    d.kind = Delivery::Kind::kRevoked;
    if (!parse_number(s, d.session_id) || !s.empty()) return std::nullopt;
    return d;
  }
  if (tag == 'J') {
    d.kind = Delivery::Kind::kRoomJoined;
    if (!parse_number(s, d.room_id) || s.empty() || s.front() != ' ') return std::nullopt;
    s.remove_prefix(1);
    if (!parse_number(s, d.seq) || s.size() < 3 || s[0] != ' ') return std::nullopt;
    d.dm_peer_unknown = s[1] == '1';
    if (s[2] != '\n') return std::nullopt;
    s.remove_prefix(3);
    d.frame = std::make_shared<const std::string>(s);
    return d;
  }
  return std::nullopt;
}

// --- Hub::Impl

Hub::Impl::Impl(bus::Bus& b, ops::Registry& metrics)
    : bus(b),
      topics_gauge_(metrics.gauge("parley_gateway_topics",
                                  "Bus topics (rooms and users) this node is subscribed to")) {}

void Hub::Impl::follow(bus::Topic topic, const std::shared_ptr<Follower>& f) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = topics_.try_emplace(topic);
  auto& v = it->second;
  if (std::any_of(v.begin(), v.end(), [&](const Entry& e) { return e.key == f.get(); })) return;
  v.push_back(Entry{f.get(), f});
  if (inserted) {
    topics_gauge_.add(1);
    bus.subscribe(topic);
  }
}

void Hub::Impl::unfollow(bus::Topic topic, const Follower* f) {
  std::lock_guard lock(mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  auto& v = it->second;
  auto e = std::find_if(v.begin(), v.end(), [&](const Entry& x) { return x.key == f; });
  if (e == v.end()) return;
  *e = std::move(v.back());
  v.pop_back();
  if (v.empty()) remove_topic_locked(topic);
}

void Hub::Impl::remove_topic_locked(bus::Topic topic) {
  topics_.erase(topic);
  topics_gauge_.add(-1);
  bus.unsubscribe(topic);
}

std::size_t Hub::Impl::followers(bus::Topic topic) const {
  std::lock_guard lock(mu_);
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.size();
}

std::size_t Hub::Impl::topics() const {
  std::lock_guard lock(mu_);
  return topics_.size();
}

void Hub::Impl::dispatch(const bus::Publication& p) {
  auto decoded = decode_publication(p, steady_ns());
  if (!decoded) return;
  auto delivery = std::make_shared<const Delivery>(std::move(*decoded));

  std::vector<std::shared_ptr<Follower>> targets;
  {
    std::lock_guard lock(mu_);
    auto it = topics_.find(p.topic);
    if (it == topics_.end()) return;
    auto& v = it->second;
    targets.reserve(v.size());
    for (std::size_t i = 0; i < v.size();) {
      if (auto f = v[i].ref.lock()) {
        targets.push_back(std::move(f));
        ++i;
      } else {
        // A follower destroyed without unfollowing: prune it here.
        v[i] = std::move(v.back());
        v.pop_back();
      }
    }
    if (v.empty()) remove_topic_locked(p.topic);
  }
  for (const auto& f : targets) f->deliver(delivery);
}

// --- Hub

Hub::Hub(bus::Bus& bus, ops::Registry& metrics) : impl_(std::make_unique<Impl>(bus, metrics)) {
  bus.set_sink([impl = impl_.get()](const bus::Publication& p) { impl->dispatch(p); });
}

Hub::~Hub() { impl_->bus.set_sink(nullptr); }

void Hub::room_event(const core::RoomEvent& e) {
  auto frame = std::make_shared<const std::string>(api::event_frame(e));
  impl_->bus.publish(bus::Publication{bus::Topic{bus::Topic::Kind::kRoom, e.room_id}, e.seq,
                                      std::move(frame)});
}

void Hub::room_joined(core::Id user_id, const core::Room& room) {
  // The RoomSummary of a fresh membership. The creator of a group is its owner; a DM's peer is
  // known here only when the user did not open it (the opener is created_by): otherwise the
  // session looks the peer up before sending (dm_peer_unknown).
  core::RoomSummary s;
  s.room = room;
  s.self.room_id = room.id;
  s.self.user_id = user_id;
  s.self.role = room.kind == core::RoomKind::kGroup && room.created_by == user_id
                    ? core::MemberRole::kOwner
                    : core::MemberRole::kMember;
  bool peer_unknown = false;
  if (room.kind == core::RoomKind::kDm) {
    if (room.created_by != 0 && room.created_by != user_id) {
      s.dm_peers.push_back(room.created_by);
    } else {
      peer_unknown = true;
    }
  }
  boost::json::object d;
  d["room"] = api::to_json(s);
  auto frame = api::frame("room.joined", d);
  impl_->bus.publish(bus::Publication{
      bus::Topic{bus::Topic::Kind::kUser, user_id}, 0,
      std::make_shared<const std::string>(encode_room_joined(room.id, room.last_seq, peer_unknown,
                                                             frame))});
}

void Hub::sessions_revoked(core::Id user_id, core::Id session_id) {
  impl_->bus.publish(bus::Publication{bus::Topic{bus::Topic::Kind::kUser, user_id}, 0,
                                      std::make_shared<const std::string>(encode_revoked(session_id))});
}

void Hub::read_state(const core::ReadState& s) {
  impl_->bus.publish(bus::Publication{
      bus::Topic{bus::Topic::Kind::kUser, s.user_id}, 0,
      std::make_shared<const std::string>(api::frame("read.updated", api::to_json(s)))});
}

void Hub::receipt(const core::ReadState& s) {
  impl_->bus.publish(bus::Publication{
      bus::Topic{bus::Topic::Kind::kRoom, s.room_id}, 0,
      std::make_shared<const std::string>(api::frame("receipt", api::receipt_json(s)))});
}

}  // namespace parley::gateway
