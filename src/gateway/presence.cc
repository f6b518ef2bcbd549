#include "gateway/presence.h"

#include <algorithm>
#include <map>

namespace parley::gateway {

std::string_view to_string(PresenceStatus s) {
  switch (s) {
    case PresenceStatus::kOffline: return "offline";
    case PresenceStatus::kAway: return "away";
    case PresenceStatus::kOnline: return "online";
  }
  return "offline";
}

PresenceTracker::PresenceTracker(PresenceConfig config) : config_(config) {}

void PresenceTracker::add_room_locked(core::Id user, UserInfo& u, core::Id room) {
  if (u.rooms[room]++ == 0) rooms_[room].insert(user);
}

void PresenceTracker::drop_room_locked(core::Id user, UserInfo& u, core::Id room) {
  auto it = u.rooms.find(room);
  if (it == u.rooms.end()) return;
  if (--it->second > 0) return;
  u.rooms.erase(it);
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return;
  r->second.erase(user);
  if (r->second.empty()) rooms_.erase(r);
}

void PresenceTracker::drop_all_rooms_locked(core::Id user, UserInfo& u) {
  for (const auto& [room, n] : u.rooms) {
    (void)n;
    auto r = rooms_.find(room);
    if (r == rooms_.end()) continue;
    r->second.erase(user);
    if (r->second.empty()) rooms_.erase(r);
  }
  u.rooms.clear();
}

void PresenceTracker::connect(SessionKey s, core::Id user, bool invisible, std::int64_t last_seen,
                              std::vector<core::Id> rooms, std::int64_t now) {
  std::lock_guard lock(mu_);
  if (sessions_.contains(s)) return;
  std::sort(rooms.begin(), rooms.end());
  rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
  UserInfo& u = users_[user];
  // Back before the offline announcement: the rooms kept for it are replaced by the new ones.
  if (u.sessions == 0) drop_all_rooms_locked(user, u);
  ++u.sessions;
  u.keys.push_back(s);
  u.invisible = invisible;
  u.last_seen = std::max(u.last_seen, last_seen);
  for (core::Id r : rooms) add_room_locked(user, u, r);
  sessions_.emplace(s, SessionInfo{user, false, false, now, std::move(rooms)});
  dirty_.insert(user);
}

void PresenceTracker::disconnect(SessionKey s, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  const core::Id user = it->second.user;
  UserInfo& u = users_[user];
  // The rooms stay attached to the user until the offline announcement went out (tick), so it
  // reaches the rooms the user was in.
  std::erase(u.keys, s);
  if (--u.sessions == 0 && !u.invisible) u.last_seen = now;
  if (u.sessions > 0) {
    for (core::Id r : it->second.rooms) drop_room_locked(user, u, r);
  }
  sessions_.erase(it);
  dirty_.insert(user);
}

void PresenceTracker::join(SessionKey s, core::Id room) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  auto& rooms = it->second.rooms;
  if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) return;
  rooms.push_back(room);
  UserInfo& u = users_[it->second.user];
  if (u.rooms.find(room) == u.rooms.end()) joined_.emplace_back(it->second.user, room);
  add_room_locked(it->second.user, u, room);
}

void PresenceTracker::leave(SessionKey s, core::Id room) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  auto& rooms = it->second.rooms;
  auto r = std::find(rooms.begin(), rooms.end(), room);
  if (r == rooms.end()) return;
  rooms.erase(r);
  drop_room_locked(it->second.user, users_[it->second.user], room);
}

void PresenceTracker::report(SessionKey s, bool away, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  it->second.reported_away = away;
  if (!away) {
    it->second.auto_idle = false;
    it->second.last_active = now;
  }
  dirty_.insert(it->second.user);
}

void PresenceTracker::activity(SessionKey s, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s);
  if (it == sessions_.end()) return;
  it->second.last_active = now;
  if (it->second.auto_idle) {
    it->second.auto_idle = false;
    dirty_.insert(it->second.user);
  }
}

void PresenceTracker::set_invisible(core::Id user, bool invisible) {
  std::lock_guard lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  it->second.invisible = invisible;
  dirty_.insert(user);
}

PresenceStatus PresenceTracker::visible_status_locked(const UserInfo& u, core::Id user) const {
  if (u.sessions == 0 || u.invisible) return PresenceStatus::kOffline;
  (void)user;
  for (SessionKey key : u.keys) {
    const SessionInfo& s = sessions_.at(key);
    if (!s.reported_away && !s.auto_idle) return PresenceStatus::kOnline;
  }
  return PresenceStatus::kAway;
}

PresenceChange PresenceTracker::status(core::Id user) const {
  std::lock_guard lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return PresenceChange{user, PresenceStatus::kOffline, 0};
  // What others were last told (changes since are announced at the next tick).
  const UserInfo& u = it->second;
  return PresenceChange{user, u.announced, u.invisible ? 0 : u.last_seen};
}

std::vector<PresenceChange> PresenceTracker::snapshot(const std::vector<core::Id>& rooms,
                                                      core::Id self) const {
  std::lock_guard lock(mu_);
  std::vector<PresenceChange> out;
  std::unordered_set<core::Id> seen{self};
  for (core::Id room : rooms) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) continue;
    for (core::Id user : r->second) {
      if (!seen.insert(user).second) continue;
      const UserInfo& u = users_.at(user);
      if (u.announced == PresenceStatus::kOffline) continue;
      out.push_back(PresenceChange{user, u.announced, 0});
      if (out.size() >= config_.max_snapshot_users) return out;
    }
  }
  return out;
}

PresenceTick PresenceTracker::tick(std::int64_t now) {
  std::lock_guard lock(mu_);
  // Sessions silent for idle_after_ms become idle.
  for (auto& [key, s] : sessions_) {
    (void)key;
    if (!s.auto_idle && now - s.last_active >= config_.idle_after_ms) {
      s.auto_idle = true;
      dirty_.insert(s.user);
    }
  }
  PresenceTick out;
  if (dirty_.empty() && joined_.empty()) return out;
  std::map<core::Id, std::vector<PresenceChange>> by_room;  // ordered: stable output
  for (core::Id user : dirty_) {
    auto it = users_.find(user);
    if (it == users_.end()) continue;
    UserInfo& u = it->second;
    const PresenceStatus now_status = visible_status_locked(u, user);
    if (now_status != u.announced) {
      u.announced = now_status;
      PresenceChange c{user, now_status,
                       now_status == PresenceStatus::kOffline && !u.invisible ? u.last_seen : 0};
      for (const auto& [room, n] : u.rooms) {
        (void)n;
        by_room[room].push_back(c);
      }
      if (now_status == PresenceStatus::kOffline && u.sessions == 0 && !u.invisible) {
        out.went_offline.push_back(c);
      }
    }
    if (u.sessions == 0) {
      // Gone from this node: forget the user and their rooms.
      drop_all_rooms_locked(user, u);
      users_.erase(it);
    }
  }
  dirty_.clear();
  for (const auto& [user, room] : joined_) {
    auto it = users_.find(user);
    if (it == users_.end() || !it->second.rooms.contains(room)) continue;
    const UserInfo& u = it->second;
    if (u.announced == PresenceStatus::kOffline) continue;
    auto r = by_room.find(room);
    if (r != by_room.end() && std::any_of(r->second.begin(), r->second.end(),
                                          [&](const PresenceChange& c) { return c.user_id == user; })) {
      continue;  // already announced with a change
    }
    by_room[room].push_back(PresenceChange{user, u.announced, 0});
  }
  joined_.clear();
  out.batches.reserve(by_room.size());
  for (auto& [room, changes] : by_room) {
    std::sort(changes.begin(), changes.end(),
              [](const PresenceChange& a, const PresenceChange& b) { return a.user_id < b.user_id; });
    out.batches.push_back(PresenceBatch{room, std::move(changes)});
  }
  return out;
}

std::size_t PresenceTracker::users() const {
  std::lock_guard lock(mu_);
  return users_.size();
}

}  // namespace parley::gateway
