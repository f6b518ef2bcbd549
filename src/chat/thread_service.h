// chat/thread_service.h: the "richer messages" use cases (issue 3): pins, threads (follow,
// read, list) and edit history. Sending a thread reply or a quoting reply is ChatService::send
// (SendRequest::thread_root / reply_to); changing a room's pin_policy is
// ChatService::update_room. Every "may this actor do that" goes through auth/policy.h.
//
// Durable vs per-user state:
//  - pins are durable room events with a seq (message.pinned / message.unpinned), published
//    through Publisher::room_event after commit, so resume replays them;
//  - thread replies are ordinary message.created events (resume covers them); the root's
//    summary travels with every message.* event of a reply (RoomEvent::thread);
//  - following a thread and a thread's read position are per-user state, like read markers:
//    no room event; clients learn them from REST (docs/decisions/0014).
//
// Threading: every method returns at once and calls `done` exactly once: on a store thread, or
// inline when the input is rejected before reaching the store. Thread-safe; no locks held.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "auth/auth_service.h"
#include "chat/publisher.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/types.h"
#include "store/store.h"

namespace parley::chat {

// One page of a thread: the root as stored now and replies ascending by seq.
struct ThreadPage {
  core::Message root;
  std::vector<core::Message> replies;
  bool following = false;  // whether the actor follows the thread
};

// A live message's edit history: the message as it is now and its earlier bodies.
struct EditHistory {
  core::Message message;
  std::vector<core::MessageRevision> revisions;  // newest first
};

class ThreadService {
 public:
  struct Deps {
    store::Store& store;
    Publisher& publisher;
    const core::Clock& clock;
  };
  explicit ThreadService(Deps deps);

  // Pins (pin = true) or unpins a live message of the room. kForbidden when the room's
  // pin_policy reserves pins to owners/moderators; kNotFound for a deleted, unknown or other
  // room's message; kInvalidArgument beyond store::kMaxPinsPerRoom.
  void pin(const auth::Actor& who, core::Id room_id, core::Id message_id, bool pin,
           store::Callback<store::PinResult> done);
  // The room's pins, most recently pinned first.
  void pins(const auth::Actor& who, core::Id room_id, store::Callback<std::vector<core::Pin>> done);

  // A page of the thread rooted at `q.thread_root` (q.room_id the room; cursors as history).
  // kNotFound when the root is not a root message of that room.
  void thread(const auth::Actor& who, store::HistoryQuery q, store::Callback<ThreadPage> done);
  // Follows or unfollows a thread; returns whether the actor now follows it.
  void follow(const auth::Actor& who, core::Id room_id, core::Id root_id, bool follow,
              store::Callback<bool> done);
  // The actor's followed threads with unread counts, most recent activity first.
  void followed_threads(const auth::Actor& who, int limit,
                        store::Callback<std::vector<core::FollowedThread>> done);
  // Moves the actor's read position in a followed thread (nullopt: to the newest reply).
  void mark_thread_read(const auth::Actor& who, core::Id room_id, core::Id root_id,
                        std::optional<std::int64_t> seq,
                        store::Callback<core::FollowedThread> done);

  // The edit history of a live message of the room (members only; kNotFound once deleted).
  void edit_history(const auth::Actor& who, core::Id room_id, core::Id message_id,
                    store::Callback<EditHistory> done);

 private:
  Deps deps_;
};

}  // namespace parley::chat
