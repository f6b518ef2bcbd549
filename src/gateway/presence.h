// gateway/presence.h: who is online, away or offline on this node, and the coalesced changes to
// announce (docs/protocol.md, "Presence").
//
// A user is online when any of their sessions is active, away when every session is idle (the
// client reported it with the `presence` op, or the session sent nothing but pings for
// idle_after_ms), offline when no session is left. An invisible user is always reported offline
// (and their last_seen is not moved while invisible).
//
// Coalescing: changes are not announced when they happen. tick(), called about once a second by
// the gateway's presence pump, compares each changed user's status with the one last announced
// and returns at most one batch per room with every user of that room whose announced status
// changed; a user who connects and disconnects between two ticks is never announced. When a node
// restarts and thousands reconnect, each room gets one frame per tick, not one per user.
//
// A user who joins a room after connecting is announced to that room at the next tick, with
// their unchanged status (the room's members had no reason to be told before).
//
// Presence is ephemeral: never stored (except last_seen), never replayed; `ready` carries a
// snapshot (snapshot()).
//
// Thread safety: every method may be called from any thread (one mutex; sessions call it on
// connect/disconnect/join/report and at most once per activity_report_ms on activity). Times are
// Unix milliseconds passed in, so tests drive it with a fake clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/id.h"

namespace parley::gateway {

enum class PresenceStatus : std::uint8_t { kOffline, kAway, kOnline };
std::string_view to_string(PresenceStatus s);

struct PresenceConfig {
  std::int64_t idle_after_ms = 5 * 60 * 1000;  // no activity for this long: the session is idle
  std::int64_t flush_interval_ms = 1000;       // how often changes are announced (coalescing)
  std::size_t max_snapshot_users = 1000;       // most users in the `ready` presence snapshot
  std::int64_t activity_report_ms = 10000;     // sessions report activity at most this often
};

struct PresenceChange {
  core::Id user_id = 0;
  PresenceStatus status = PresenceStatus::kOffline;
  std::int64_t last_seen = 0;  // for offline: when last seen (0 = unknown / invisible)
};

// One room's announcement for a tick.
struct PresenceBatch {
  core::Id room_id = 0;
  std::vector<PresenceChange> changes;
};

struct PresenceTick {
  std::vector<PresenceBatch> batches;
  // Users who went offline visibly: persist last_seen (users.last_seen).
  std::vector<PresenceChange> went_offline;
};

class PresenceTracker {
 public:
  explicit PresenceTracker(PresenceConfig config);

  using SessionKey = const void*;

  // A session became ready with these rooms. `last_seen` is the user's stored last_seen (shown
  // while invisible or after disconnect until a new one is known).
  void connect(SessionKey s, core::Id user, bool invisible, std::int64_t last_seen,
               std::vector<core::Id> rooms, std::int64_t now);
  void disconnect(SessionKey s, std::int64_t now);
  void join(SessionKey s, core::Id room);
  void leave(SessionKey s, core::Id room);
  // The client says this device is idle (away = true) or back (false).
  void report(SessionKey s, bool away, std::int64_t now);
  // A frame other than a ping arrived (the caller rate-limits these calls).
  void activity(SessionKey s, std::int64_t now);
  void set_invisible(core::Id user, bool invisible);

  // The visible status of `user` (offline when unknown or invisible).
  PresenceChange status(core::Id user) const;
  // Users (other than `self`) in `rooms` that are online or away, at most max_snapshot_users.
  std::vector<PresenceChange> snapshot(const std::vector<core::Id>& rooms, core::Id self) const;

  // Announces what changed since the previous tick (see the header comment).
  PresenceTick tick(std::int64_t now);

  const PresenceConfig& config() const { return config_; }
  std::size_t users() const;

 private:
  struct SessionInfo {
    core::Id user = 0;
    bool reported_away = false;
    bool auto_idle = false;
    std::int64_t last_active = 0;
    std::vector<core::Id> rooms;
  };
  struct UserInfo {
    int sessions = 0;
    std::vector<SessionKey> keys;  // this user's sessions (size == sessions)
    bool invisible = false;
    PresenceStatus announced = PresenceStatus::kOffline;
    std::int64_t last_seen = 0;
    std::unordered_map<core::Id, int> rooms;  // room -> sessions of the user following it
  };

  PresenceStatus visible_status_locked(const UserInfo& u, core::Id user) const;
  void add_room_locked(core::Id user, UserInfo& u, core::Id room);
  void drop_room_locked(core::Id user, UserInfo& u, core::Id room);
  void drop_all_rooms_locked(core::Id user, UserInfo& u);

  const PresenceConfig config_;
  mutable std::mutex mu_;
  std::unordered_map<SessionKey, SessionInfo> sessions_;
  std::unordered_map<core::Id, UserInfo> users_;
  // room -> users of this node in it (online, away or offline-not-yet-announced).
  std::unordered_map<core::Id, std::unordered_set<core::Id>> rooms_;
  std::unordered_set<core::Id> dirty_;
  // (user, room) pairs where a user became a member after connecting (a DM opened, a group
  // created): the next tick announces the user's status to that room even if it did not change,
  // since the room's other members were never told.
  std::vector<std::pair<core::Id, core::Id>> joined_;
};

}  // namespace parley::gateway
