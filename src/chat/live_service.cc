#include "chat/live_service.h"

#include <utility>

#include "auth/policy.h"
#include "core/validate.h"

namespace parley::chat {

using auth::Action;
using core::Errc;
using core::Id;
using core::make_error;

namespace {

core::Error room_not_found() { return make_error(Errc::kNotFound, "room not found"); }

// Loads the actor's membership and asks the policy about `what`; kNotFound for outsiders.
void authorize_in_room(store::Store& store, const auth::Actor& who, Id room_id, Action what,
                       store::Callback<core::Member> done) {
  store.member(room_id, who.user_id,
               [who, what, done = std::move(done)](core::Result<core::Member> m) mutable {
                 if (!m) {
                   return done(m.error().code == Errc::kNotFound ? room_not_found()
                                                                 : m.take_error());
                 }
                 auto st = auth::authorize(auth::Subject{who.user_id, who.role, m->role}, what);
                 if (!st) return done(st.take_error());
                 done(std::move(m));
               });
}

// The store reports "not a member" as kForbidden; outsiders must not learn the room exists.
core::Error hide_membership(core::Error e) {
  if (e.code == Errc::kForbidden && e.message.find("member") != std::string::npos) {
    return room_not_found();
  }
  if (e.code == Errc::kNotFound && e.message == "member not found") return room_not_found();
  return e;
}

}  // namespace

core::Status validate_emoji(std::string_view emoji) {
  if (emoji.empty() || emoji.size() > kMaxEmojiBytes) {
    return make_error(Errc::kInvalidArgument, "emoji: must be 1 to 64 bytes");
  }
  if (auto st = core::validate_text("emoji", emoji, kMaxEmojiBytes, false); !st) return st;
  for (unsigned char ch : emoji) {
    if (ch == ' ' || ch == '\t') {
      return make_error(Errc::kInvalidArgument, "emoji: must not contain whitespace");
    }
  }
  return core::ok_status();
}

LiveService::LiveService(Deps deps) : deps_(deps) {}

void LiveService::update(const auth::Actor& who, store::ReadUpdate u,
                         store::Callback<core::ReadState> done) {
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  authorize_in_room(store, who, u.room_id, Action::kMarkRead,
                    [&store, &publisher, u, done = std::move(done)](
                        core::Result<core::Member> m) mutable {
                      if (!m) return done(m.take_error());
                      store.update_read_state(u, [&publisher, done = std::move(done)](
                                                     core::Result<core::ReadState> r) {
                        if (!r) return done(hide_membership(r.take_error()));
                        if (r->read_changed) publisher.read_state(*r);
                        if ((r->read_changed || r->delivered_changed) &&
                            r->room_kind == core::RoomKind::kDm) {
                          publisher.receipt(*r);
                        }
                        done(std::move(r));
                      });
                    });
}

void LiveService::mark_read(const auth::Actor& who, Id room_id, std::optional<std::int64_t> seq,
                            store::Callback<core::ReadState> done) {
  if (seq && *seq < 0) return done(make_error(Errc::kInvalidArgument, "seq: must be >= 0"));
  store::ReadUpdate u;
  u.room_id = room_id;
  u.user_id = who.user_id;
  u.mode = store::ReadMode::kForward;
  if (seq) {
    u.read_seq = *seq;
    return update(who, u, std::move(done));
  }
  // The whole room: up to its last_seq as it is now.
  deps_.store.room_by_id(room_id, [this, who, u, done = std::move(done)](
                                      core::Result<core::Room> r) mutable {
    if (!r) return done(r.error().code == Errc::kNotFound ? room_not_found() : r.take_error());
    u.read_seq = r->last_seq;
    update(who, u, std::move(done));
  });
}

void LiveService::mark_unread(const auth::Actor& who, Id room_id, Id message_id,
                              store::Callback<core::ReadState> done) {
  auto& store = deps_.store;
  authorize_in_room(
      store, who, room_id, Action::kMarkRead,
      [this, &store, who, room_id, message_id, done = std::move(done)](
          core::Result<core::Member> m) mutable {
        if (!m) return done(m.take_error());
        store.message_by_id(message_id, [this, who, room_id, done = std::move(done)](
                                            core::Result<core::Message> msg) mutable {
          if (!msg || msg->room_id != room_id) {
            return done(make_error(Errc::kNotFound, "message not found"));
          }
          store::ReadUpdate u;
          u.room_id = room_id;
          u.user_id = who.user_id;
          u.read_seq = msg->seq - 1;
          u.mode = store::ReadMode::kExact;
          update(who, u, std::move(done));
        });
      });
}

void LiveService::mark_all_read(const auth::Actor& who,
                                store::Callback<std::vector<core::ReadState>> done) {
  auto& publisher = deps_.publisher;
  // Only the user's own memberships are touched: the store selects them by user.
  deps_.store.mark_all_read(who.user_id, [&publisher, done = std::move(done)](
                                             core::Result<std::vector<core::ReadState>> r) {
    if (r) {
      for (const core::ReadState& s : *r) {
        publisher.read_state(s);
        if (s.room_kind == core::RoomKind::kDm) publisher.receipt(s);
      }
    }
    done(std::move(r));
  });
}

void LiveService::delivered(const auth::Actor& who, Id room_id, std::int64_t seq,
                            store::Callback<core::ReadState> done) {
  if (seq < 0) return done(make_error(Errc::kInvalidArgument, "seq: must be >= 0"));
  store::ReadUpdate u;
  u.room_id = room_id;
  u.user_id = who.user_id;
  u.delivered_seq = seq;
  update(who, u, std::move(done));
}

void LiveService::receipts(const auth::Actor& who, Id room_id, Id message_id,
                           store::Callback<core::MessageReceipts> done) {
  auto& store = deps_.store;
  authorize_in_room(store, who, room_id, Action::kViewReceipts,
                    [&store, room_id, message_id, done = std::move(done)](
                        core::Result<core::Member> m) mutable {
                      if (!m) return done(m.take_error());
                      store.message_by_id(message_id, [&store, room_id, done = std::move(done)](
                                                          core::Result<core::Message> msg) mutable {
                        if (!msg || msg->room_id != room_id || msg->deleted_at != 0) {
                          return done(make_error(Errc::kNotFound, "message not found"));
                        }
                        store.message_receipts(room_id, msg->seq, msg->sender_id,
                                               std::move(done));
                      });
                    });
}

void LiveService::react(const auth::Actor& who, Id room_id, Id message_id, std::string emoji,
                        bool add, store::Callback<store::ReactionResult> done) {
  if (auto st = validate_emoji(emoji); !st) return done(st.take_error());
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  store::ReactionUpdate u;
  u.room_id = room_id;
  u.message_id = message_id;
  u.user_id = who.user_id;
  u.emoji = std::move(emoji);
  u.add = add;
  u.now = deps_.clock.now_ms();
  authorize_in_room(store, who, room_id, Action::kReact,
                    [&store, &publisher, u = std::move(u), done = std::move(done)](
                        core::Result<core::Member> m) mutable {
                      if (!m) return done(m.take_error());
                      // The store re-checks membership and the message in the transaction.
                      store.set_reaction(std::move(u), [&publisher, done = std::move(done)](
                                                           core::Result<store::ReactionResult> r) {
                        if (!r) return done(hide_membership(r.take_error()));
                        if (r->changed) publisher.room_event(r->event);
                        done(std::move(r));
                      });
                    });
}

void LiveService::update_settings(const auth::Actor& who, std::optional<bool> read_receipts,
                                  std::optional<bool> invisible,
                                  store::Callback<core::User> done) {
  store::UserUpdate u;
  u.id = who.user_id;
  u.read_receipts = read_receipts;
  u.invisible = invisible;
  deps_.store.update_user(std::move(u), std::move(done));
}

}  // namespace parley::chat
