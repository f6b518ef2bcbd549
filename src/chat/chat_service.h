// chat/chat_service.h: the application's use cases for rooms and messages. Transports (REST,
// gateway) call these; every decision "may this actor do that" goes through auth/policy.h.
//
// Delivery rules (docs/protocol.md): a change is published (Publisher) only after the store has
// committed it, in seq order per room, and `done` is called after publishing, so a sender's ack
// never precedes the broadcast of the same message to its other sessions' queues.
//
// Threading: every method returns at once and calls `done` exactly once: on a store thread, or
// inline when the request is rejected before reaching the store (invalid input). Thread-safe;
// holds no locks while calling out. Sends from one thread are committed in call order.
//
// Message content: send and edit render the body (render/render.h) on the calling thread before
// handing it to the store; the work is bounded (a 16 KiB body costs at most a few milliseconds,
// docs/benchmarks.md). Mentions are resolved, and @room/@here authorized, inside the storing
// transaction; committed mentions go to the MentionSink.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_service.h"
#include "chat/live_service.h"
#include "chat/mention_sink.h"
#include "chat/publisher.h"
#include "chat/thread_service.h"
#include "chat/search_service.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "core/types.h"
#include "render/render.h"
#include "store/store.h"

namespace parley::chat {

using auth::Actor;
using core::Id;
template <class T>
using Callback = store::Callback<T>;

struct ChatConfig {
  int max_group_members = 10000;  // add_member beyond this: kInvalidArgument
  int replay_cap = 500;           // most events replayed per room on resume before room.reset
  int mention_all_min_members = 20;  // @room/@here from this room size on: owners/moderators only
  render::Limits render;          // bounds of message rendering
  SearchConfig search;            // per-user search rate (chat/search_service.h)
};

struct CreateGroupRequest {
  std::string name;
  std::string topic;
  std::vector<Id> member_ids;  // other initial members
};

struct SendRequest {
  Id room_id = 0;
  std::string client_txn_id;
  std::string body;         // may be empty (or blank) when attachments are given
  Id reply_to = 0;
  Id thread_root = 0;  // a reply in this message's thread (store::NewMessage::thread_root)
  std::vector<Id> attachment_ids;  // the sender's unsent uploads (store::NewMessage rules)
};

// A room change; fields left nullopt are unchanged, at least one must be set.
struct RoomUpdateRequest {
  std::optional<std::string> name;
  std::optional<std::string> topic;
  std::optional<core::PinPolicy> pin_policy;  // groups only (owners/moderators, like the rest)
};

struct RoomDetails {
  core::Room room;
  std::vector<core::Member> members;
};

class ChatService {
 public:
  struct Deps {
    store::Store& store;
    Publisher& publisher;
    const core::Clock& clock;
    core::IdGenerator& ids;
    MentionSink* mentions = nullptr;  // nullptr: nobody is told (tools, tests)
  };
  ChatService(Deps deps, ChatConfig config);

  void create_group(const Actor& who, CreateGroupRequest req, Callback<core::Room> done);
  // The DM with `peer`, created on first use (`created` says whether this call created it). kInvalidArgument for a DM with oneself,
  // kNotFound for an unknown or deactivated peer.
  void open_dm(const Actor& who, Id peer, Callback<store::DmResult> done);
  void room(const Actor& who, Id room_id, Callback<RoomDetails> done);
  void list_rooms(const Actor& who, Callback<std::vector<core::RoomSummary>> done);
  void update_room(const Actor& who, Id room_id, std::optional<std::string> name,
                   std::optional<std::string> topic, Callback<core::RoomEvent> done);
  void update_room(const Actor& who, Id room_id, RoomUpdateRequest req,
                   Callback<core::RoomEvent> done);
  void add_member(const Actor& who, Id room_id, Id user_id, Callback<core::RoomEvent> done);
  // Removing oneself is leaving.
  void remove_member(const Actor& who, Id room_id, Id user_id, Callback<core::RoomEvent> done);

  // Idempotent by client_txn_id: a retry returns the original (duplicate = true).
  void send(const Actor& who, SendRequest req, Callback<store::AppendResult> done);
  void edit(const Actor& who, Id room_id, Id message_id, std::string body,
            Callback<core::RoomEvent> done);
  void remove_message(const Actor& who, Id room_id, Id message_id,
                      Callback<core::RoomEvent> done);
  void history(const Actor& who, store::HistoryQuery q, Callback<std::vector<core::Message>> done);
  // For resume and gap repair: events after `after_seq` (membership checked), at most `limit`.
  void events_since(const Actor& who, Id room_id, std::int64_t after_seq, int limit,
                    Callback<std::vector<core::RoomEvent>> done);

  const ChatConfig& config() const { return config_; }
  // Read markers, receipts, reactions and privacy settings (chat/live_service.h), over the same
  // store, publisher and clock.
  LiveService& live() { return live_; }
  // Pins, threads and edit history (chat/thread_service.h), over the same store and publisher.
  ThreadService& threads() { return threads_; }
  // Full-text search over the same store (chat/search_service.h).
  SearchService& search() { return search_; }

 private:
  // The content request for a rendered body: resolves its @usernames in the storing
  // transaction, authorizes @room/@here, fills in the HTML, and records what is newly
  // mentioned into `delta` for the MentionSink.
  store::ContentRequest content_request(const Actor& who, std::string_view body,
                                        std::shared_ptr<MentionDelta> delta) const;

  Deps deps_;
  ChatConfig config_;
  render::Renderer renderer_;
  LiveService live_;
  ThreadService threads_;
  SearchService search_;
};

}  // namespace parley::chat
