// api/json.h: the wire encoding of domain objects, shared by REST and the gateway so both speak
// exactly docs/protocol.md. Ids become decimal strings; unset times become null.
// Uses Boost.JSON only (no Beast, no Asio): cheap to include.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace parley::api {

namespace json = boost::json;

// `with_private` adds email (for the user themself and for admins).
json::object to_json(const core::User& u, bool with_private = false);
json::object to_json(const core::Room& r);
json::object to_json(const core::Member& m);
json::object to_json(const core::Message& m);
// An attachment as messages and the upload route show it, with the URLs to fetch it:
// {id, name, mime, kind, size, sha256, width, height, url, thumbnail_url, preview_url}
// (width/height and the rendition URLs null when not an image).
json::object to_json(const core::Attachment& a);
json::object to_json(const core::RoomSummary& s);
json::object to_json(const core::RoomEvent& e);
json::object to_json(const core::Session& s, core::Id current_session_id);
// The user's own read state in a room: {room_id, last_read_seq, delivered_seq, unread,
// unread_mentions}.
json::object to_json(const core::ReadState& s);
// A receipt as others see it: {room_id, user_id, delivered_seq, read_seq (null when the user
// does not share read receipts)}.
json::object receipt_json(const core::ReadState& s);
// {read_count, delivered_count, read_by: [id], delivered_to: [id]}.
json::object to_json(const core::MessageReceipts& r);

// Pins, threads, edit history (issue 3; docs/protocol.md "Pins, threads and edit history").
// {root_id, reply_count, last_reply_id, last_reply_at, participants: [id]}.
json::object to_json(const core::ThreadSummary& t);
// {message: Message, pinned_by, pinned_at}.
json::object to_json(const core::Pin& p);
// {rev, body, written_at, replaced_at}.
json::object to_json(const core::MessageRevision& r);
// {room_id, root: Message, last_read_seq, unread}.
json::object to_json(const core::FollowedThread& t);

// A server frame {"op": op, "re"?: re, "d"?: d} serialised.
std::string frame(std::string_view op, const json::value& d, std::string_view re = {});
// The gateway frame for a durable room event: {"op": "<type>", "d": Event}. Encoded once per
// broadcast and shared by every recipient.
std::string event_frame(const core::RoomEvent& e);

// --- reading client input. Each returns kInvalidArgument naming the field on a wrong type.
// An id may be a decimal string or a JSON integer in 1..2^53.
core::Result<core::Id> get_id(const json::object& o, std::string_view key);
core::Result<std::optional<core::Id>> get_optional_id(const json::object& o, std::string_view key);
core::Result<std::string> get_string(const json::object& o, std::string_view key);
// An optional array of ids (absent or null: empty); kInvalidArgument over `max` entries.
core::Result<std::vector<core::Id>> get_id_list(const json::object& o, std::string_view key,
                                                std::size_t max);
core::Result<std::optional<std::string>> get_optional_string(const json::object& o,
                                                             std::string_view key);
// Parses `text` as a JSON object: kInvalidJson when it is not JSON or not an object.
core::Result<json::object> parse_object(std::string_view text);

}  // namespace parley::api
