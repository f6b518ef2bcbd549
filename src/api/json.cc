#include "api/json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace parley::api {

namespace {

json::value time_or_null(std::int64_t ms) { return ms == 0 ? json::value(nullptr) : json::value(ms); }
json::value id_or_null(core::Id id) {
  return id == 0 ? json::value(nullptr) : json::value(core::id_to_string(id));
}
json::string ids(core::Id id) { return json::string(core::id_to_string(id)); }

core::Error bad_field(std::string_view key, std::string_view want) {
  return core::make_error(core::Errc::kInvalidArgument,
                          std::string(key) + ": must be " + std::string(want));
}

}  // namespace

json::object to_json(const core::User& u, bool with_private) {
  json::object o;
  o["id"] = ids(u.id);
  o["username"] = u.username;
  o["display_name"] = u.display_name;
  o["role"] = core::to_string(u.role);
  o["status"] = core::to_string(u.status);
  o["created_at"] = u.created_at;
  o["last_seen"] = time_or_null(u.last_seen);
  if (with_private) {
    o["email"] = u.email;
    o["read_receipts"] = u.read_receipts;
    o["invisible"] = u.invisible;
  }
  return o;
}

json::object to_json(const core::Room& r) {
  json::object o;
  o["id"] = ids(r.id);
  o["kind"] = core::to_string(r.kind);
  o["name"] = r.name;
  o["topic"] = r.topic;
  o["created_by"] = id_or_null(r.created_by);
  o["created_at"] = r.created_at;
  o["last_seq"] = r.last_seq;
  o["pin_policy"] = core::to_string(r.pin_policy);
  return o;
}

json::object to_json(const core::Member& m) {
  json::object o;
  o["user_id"] = ids(m.user_id);
  o["role"] = core::to_string(m.role);
  o["joined_at"] = m.joined_at;
  o["last_read_seq"] = m.last_read_seq;
  o["delivered_seq"] = m.delivered_seq;
  return o;
}

json::object to_json(const core::Message& m) {
  json::object o;
  o["id"] = ids(m.id);
  o["room_id"] = ids(m.room_id);
  o["seq"] = m.seq;
  o["sender_id"] = ids(m.sender_id);
  o["client_txn_id"] = m.client_txn_id;
  o["body"] = m.body;
  o["html"] = m.html;
  {
    json::array users;
    users.reserve(m.mentions.user_ids.size());
    for (core::Id id : m.mentions.user_ids) users.push_back(ids(id));
    o["mentions"] = json::object{{"user_ids", std::move(users)},
                                 {"room", m.mentions.room},
                                 {"here", m.mentions.here}};
  }
  o["reply_to"] = id_or_null(m.reply_to);
  o["created_at"] = m.created_at;
  o["edited_at"] = time_or_null(m.edited_at);
  o["deleted_at"] = time_or_null(m.deleted_at);
  json::array reactions;
  reactions.reserve(m.reactions.size());
  for (const core::ReactionCount& r : m.reactions) {
    reactions.push_back(json::object{{"emoji", r.emoji}, {"count", r.count}});
  }
  o["reactions"] = std::move(reactions);
  o["thread_root"] = id_or_null(m.thread_root);
  o["thread"] = m.thread ? json::value(to_json(*m.thread)) : json::value(nullptr);
  if (m.reply_preview) {
    const core::ReplyPreview& p = *m.reply_preview;
    json::object q;
    q["message_id"] = ids(p.message_id);
    q["sender_id"] = id_or_null(p.sender_id);
    q["body"] = p.body;
    q["truncated"] = p.truncated;
    q["deleted"] = p.deleted;
    o["reply_preview"] = std::move(q);
  } else {
    o["reply_preview"] = nullptr;
  }
  o["edit_count"] = m.edit_count;
  json::array attachments;
  attachments.reserve(m.attachments.size());
  for (const core::Attachment& a : m.attachments) attachments.push_back(to_json(a));
  o["attachments"] = std::move(attachments);
  return o;
}

json::object to_json(const core::Attachment& a) {
  json::object o;
  const std::string url = "/api/v1/attachments/" + core::id_to_string(a.id);
  o["id"] = ids(a.id);
  o["name"] = a.name;
  o["mime"] = a.mime;
  o["kind"] = core::to_string(a.kind);
  o["size"] = a.size;
  o["sha256"] = a.sha256;
  const bool image = a.width > 0 && a.height > 0;
  o["width"] = image ? json::value(a.width) : json::value(nullptr);
  o["height"] = image ? json::value(a.height) : json::value(nullptr);
  o["url"] = url;
  o["thumbnail_url"] = a.thumb_key.empty() ? json::value(nullptr) : json::value(url + "/thumbnail");
  o["preview_url"] = a.preview_key.empty() ? json::value(nullptr) : json::value(url + "/preview");
  return o;
}

json::object to_json(const core::ThreadSummary& t) {
  json::object o;
  o["root_id"] = ids(t.root_id);
  o["reply_count"] = t.reply_count;
  o["last_reply_id"] = id_or_null(t.last_reply_id);
  o["last_reply_at"] = time_or_null(t.last_reply_at);
  json::array participants;
  for (core::Id id : t.participants) participants.push_back(ids(id));
  o["participants"] = std::move(participants);
  return o;
}

json::object to_json(const core::Pin& p) {
  json::object o;
  o["message"] = to_json(p.message);
  o["pinned_by"] = ids(p.pinned_by);
  o["pinned_at"] = p.pinned_at;
  return o;
}

json::object to_json(const core::MessageRevision& r) {
  json::object o;
  o["rev"] = r.rev;
  o["body"] = r.body;
  o["written_at"] = r.written_at;
  o["replaced_at"] = r.replaced_at;
  return o;
}

json::object to_json(const core::FollowedThread& t) {
  json::object o;
  o["room_id"] = ids(t.room_id);
  o["root"] = to_json(t.root);
  o["last_read_seq"] = t.last_read_seq;
  o["unread"] = t.unread;
  return o;
}

json::object to_json(const core::RoomSummary& s) {
  json::object o;
  o["room"] = to_json(s.room);
  o["role"] = core::to_string(s.self.role);
  o["last_read_seq"] = s.self.last_read_seq;
  o["unread"] = s.unread;
  o["unread_mentions"] = s.unread_mentions;
  o["last_message"] = s.last_message ? json::value(to_json(*s.last_message)) : json::value(nullptr);
  o["dm_peer_id"] = s.dm_peers.empty() ? json::value(nullptr) : json::value(ids(s.dm_peers.front()));
  o["delivered_seq"] = s.self.delivered_seq;
  if (s.room.kind == core::RoomKind::kDm) {
    o["peer_delivered_seq"] = s.peer_delivered_seq;
    o["peer_read_seq"] = s.peer_read_seq;
  }
  return o;
}

json::object to_json(const core::RoomEvent& e) {
  json::object o;
  o["type"] = core::to_string(e.type);
  o["room_id"] = ids(e.room_id);
  o["seq"] = e.seq;
  o["actor_id"] = id_or_null(e.actor_id);
  o["created_at"] = e.created_at;
  switch (e.type) {
    case core::EventType::kMessageCreated:
    case core::EventType::kMessageUpdated:
    case core::EventType::kMessageDeleted:
      if (e.message) o["message"] = to_json(*e.message);
      // A thread reply's event carries its root's summary as stored now.
      if (e.thread) o["thread"] = to_json(*e.thread);
      break;
    case core::EventType::kMemberJoined:
      o["user_id"] = ids(e.user_id);
      o["role"] = core::to_string(e.member_role);
      break;
    case core::EventType::kMemberLeft:
      o["user_id"] = ids(e.user_id);
      break;
    case core::EventType::kRoomUpdated:
      o["name"] = e.name;
      o["topic"] = e.topic;
      o["pin_policy"] = core::to_string(e.pin_policy);
      break;
    case core::EventType::kMessagePinned:
    case core::EventType::kMessageUnpinned:
      o["message_id"] = ids(e.target_id);
      if (e.message) o["message"] = to_json(*e.message);
      break;
    case core::EventType::kReactionAdded:
    case core::EventType::kReactionRemoved:
      o["message_id"] = ids(e.target_id);
      o["user_id"] = ids(e.user_id);
      o["emoji"] = e.emoji;
      o["count"] = e.count;
      break;
  }
  return o;
}

json::object to_json(const core::ReadState& s) {
  json::object o;
  o["room_id"] = ids(s.room_id);
  o["last_read_seq"] = s.last_read_seq;
  o["delivered_seq"] = s.delivered_seq;
  o["unread"] = s.unread;
  o["unread_mentions"] = s.unread_mentions;
  return o;
}

json::object receipt_json(const core::ReadState& s) {
  json::object o;
  o["room_id"] = ids(s.room_id);
  o["user_id"] = ids(s.user_id);
  o["delivered_seq"] = s.delivered_seq;
  o["read_seq"] = s.read_receipts ? json::value(s.last_read_seq) : json::value(nullptr);
  return o;
}

json::object to_json(const core::MessageReceipts& r) {
  json::object o;
  json::array read, delivered;
  for (core::Id id : r.read_by) read.push_back(ids(id));
  for (core::Id id : r.delivered_to) delivered.push_back(ids(id));
  o["read_count"] = static_cast<std::int64_t>(r.read_by.size());
  o["delivered_count"] = static_cast<std::int64_t>(r.delivered_to.size());
  o["read_by"] = std::move(read);
  o["delivered_to"] = std::move(delivered);
  return o;
}

json::object to_json(const core::Session& s, core::Id current_session_id) {
  json::object o;
  o["id"] = ids(s.id);
  o["device"] = s.device;
  o["created_at"] = s.created_at;
  o["last_used"] = s.last_used;
  o["expires_at"] = s.expires_at;
  o["current"] = s.id == current_session_id;
  return o;
}

std::string frame(std::string_view op, const json::value& d, std::string_view re) {
  json::object o;
  o["op"] = op;
  if (!re.empty()) o["re"] = re;
  if (!d.is_null()) o["d"] = d;
  return json::serialize(o);
}

std::string event_frame(const core::RoomEvent& e) {
  return frame(core::to_string(e.type), to_json(e));
}

core::Result<core::Id> get_id(const json::object& o, std::string_view key) {
  auto r = get_optional_id(o, key);
  if (!r) return r.take_error();
  if (!r.value()) return bad_field(key, "an id");
  return *r.value();
}

core::Result<std::optional<core::Id>> get_optional_id(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<core::Id>();
  const json::value& v = it->value();
  if (v.is_string()) {
    auto id = core::parse_id(std::string_view(v.get_string()));
    if (!id) return bad_field(key, "an id");
    return std::optional<core::Id>(*id);
  }
  constexpr std::int64_t kMaxSafe = (1LL << 53);
  if (v.is_int64() && v.get_int64() > 0 && v.get_int64() <= kMaxSafe) {
    return std::optional<core::Id>(static_cast<core::Id>(v.get_int64()));
  }
  if (v.is_uint64() && v.get_uint64() > 0 && v.get_uint64() <= static_cast<std::uint64_t>(kMaxSafe)) {
    return std::optional<core::Id>(v.get_uint64());
  }
  return bad_field(key, "an id");
}

core::Result<std::vector<core::Id>> get_id_list(const json::object& o, std::string_view key,
                                                std::size_t max) {
  std::vector<core::Id> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  const json::array* arr = it->value().if_array();
  if (arr == nullptr) return bad_field(key, "an array of ids");
  if (arr->size() > max) {
    return core::make_error(core::Errc::kInvalidArgument,
                            std::string(key) + ": at most " + std::to_string(max) + " entries");
  }
  for (const json::value& v : *arr) {
    json::object one;
    one["id"] = v;
    auto id = get_optional_id(one, "id");
    if (!id || !*id) return bad_field(key, "an array of ids");
    out.push_back(**id);
  }
  return out;
}

core::Result<std::string> get_string(const json::object& o, std::string_view key) {
  auto r = get_optional_string(o, key);
  if (!r) return r.take_error();
  if (!r.value()) return bad_field(key, "a string");
  return std::move(*r.value());
}

core::Result<std::optional<std::string>> get_optional_string(const json::object& o,
                                                             std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return bad_field(key, "a string");
  return std::optional<std::string>(std::string(it->value().get_string()));
}

core::Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return core::make_error(core::Errc::kInvalidJson, "not valid JSON");
  if (!v.is_object()) return core::make_error(core::Errc::kInvalidJson, "expected a JSON object");
  return std::move(v.get_object());
}

}  // namespace parley::api
