#include "chat/thread_service.h"

#include <memory>
#include <utility>

#include "auth/policy.h"

namespace parley::chat {

using auth::Action;
using core::Errc;
using core::Id;
using core::make_error;

namespace {

core::Error room_not_found() { return make_error(Errc::kNotFound, "room not found"); }
core::Error message_not_found() { return make_error(Errc::kNotFound, "message not found"); }
core::Error thread_not_found() { return make_error(Errc::kNotFound, "thread not found"); }

// The store reports "not a member" as kForbidden; outsiders must not learn the room exists.
core::Error hide_membership(core::Error e) {
  if (e.code == Errc::kForbidden && e.message.find("member") != std::string::npos) {
    return room_not_found();
  }
  return e;
}

struct Access {
  core::Room room;
  core::Member member;
};

// Loads the actor's membership and the room, then asks the policy about `what` (with the
// room's kind and pin policy); kNotFound for outsiders.
void authorize_in_room(store::Store& store, const auth::Actor& who, Id room_id, Action what,
                       store::Callback<Access> done) {
  store.member(room_id, who.user_id, [&store, who, room_id, what, done = std::move(done)](
                                         core::Result<core::Member> m) mutable {
    if (!m) return done(m.error().code == Errc::kNotFound ? room_not_found() : m.take_error());
    store.room_by_id(room_id, [who, what, member = std::move(m.value()),
                               done = std::move(done)](core::Result<core::Room> r) mutable {
      if (!r) return done(r.error().code == Errc::kNotFound ? room_not_found() : r.take_error());
      auth::Target on;
      on.room_kind = r->kind;
      on.pin_policy = r->pin_policy;
      auto st = auth::authorize(auth::Subject{who.user_id, who.role, member.role}, what, on);
      if (!st) return done(st.take_error());
      done(Access{std::move(r.value()), std::move(member)});
    });
  });
}

}  // namespace

ThreadService::ThreadService(Deps deps) : deps_(deps) {}

void ThreadService::pin(const auth::Actor& who, Id room_id, Id message_id, bool pin,
                        store::Callback<store::PinResult> done) {
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  const std::int64_t now = deps_.clock.now_ms();
  authorize_in_room(store, who, room_id, Action::kPinMessage,
                    [&store, &publisher, who, room_id, message_id, pin, now,
                     done = std::move(done)](core::Result<Access> a) mutable {
                      if (!a) return done(a.take_error());
                      store::PinUpdate u{room_id, message_id, who.user_id, pin, now};
                      store.set_pin(u, [&publisher, done = std::move(done)](
                                           core::Result<store::PinResult> r) {
                        if (!r) return done(hide_membership(r.take_error()));
                        if (r->changed) publisher.room_event(r->event);
                        done(std::move(r));
                      });
                    });
}

void ThreadService::pins(const auth::Actor& who, Id room_id,
                         store::Callback<std::vector<core::Pin>> done) {
  auto& store = deps_.store;
  authorize_in_room(store, who, room_id, Action::kReadRoom,
                    [&store, room_id, done = std::move(done)](core::Result<Access> a) mutable {
                      if (!a) return done(a.take_error());
                      store.list_pins(room_id, std::move(done));
                    });
}

void ThreadService::thread(const auth::Actor& who, store::HistoryQuery q,
                           store::Callback<ThreadPage> done) {
  if ((q.before != 0) + (q.after != 0) + (q.around != 0) > 1) {
    return done(make_error(Errc::kInvalidArgument, "use at most one of before, after, around"));
  }
  if (q.limit < 1 || q.limit > 101) {
    return done(make_error(Errc::kInvalidArgument, "limit: must be 1..100"));
  }
  if (q.thread_root == 0) return done(thread_not_found());
  auto& store = deps_.store;
  const Id user_id = who.user_id;
  authorize_in_room(
      store, who, q.room_id, Action::kFollowThread,
      [&store, user_id, q, done = std::move(done)](core::Result<Access> a) mutable {
        if (!a) return done(a.take_error());
        store.message_by_id(q.thread_root, [&store, user_id, q, done = std::move(done)](
                                               core::Result<core::Message> root) mutable {
          if (!root && root.error().code != Errc::kNotFound) return done(root.take_error());
          // A deleted root still shows its thread (as a tombstone); a reply is not a root.
          if (!root || root->room_id != q.room_id || root->thread_root != 0) {
            return done(thread_not_found());
          }
          auto page = std::make_shared<ThreadPage>();
          page->root = std::move(root.value());
          store.history(q, [&store, user_id, page, done = std::move(done)](
                               core::Result<std::vector<core::Message>> replies) mutable {
            if (!replies) return done(replies.take_error());
            page->replies = std::move(replies.value());
            store.thread_follow(page->root.id, user_id,
                                [page, done = std::move(done)](core::Result<bool> f) {
                                  if (!f) return done(f.take_error());
                                  page->following = *f;
                                  done(std::move(*page));
                                });
          });
        });
      });
}

void ThreadService::follow(const auth::Actor& who, Id room_id, Id root_id, bool follow,
                           store::Callback<bool> done) {
  auto& store = deps_.store;
  const std::int64_t now = deps_.clock.now_ms();
  authorize_in_room(store, who, room_id, Action::kFollowThread,
                    [&store, who, room_id, root_id, follow, now,
                     done = std::move(done)](core::Result<Access> a) mutable {
                      if (!a) return done(a.take_error());
                      store.set_thread_follow(
                          store::FollowUpdate{room_id, root_id, who.user_id, follow, now},
                          [done = std::move(done)](core::Result<bool> r) {
                            if (!r) return done(hide_membership(r.take_error()));
                            done(std::move(r));
                          });
                    });
}

void ThreadService::followed_threads(const auth::Actor& who, int limit,
                                     store::Callback<std::vector<core::FollowedThread>> done) {
  if (limit < 1 || limit > store::kMaxFollowedThreadsLimit) {
    return done(make_error(Errc::kInvalidArgument,
                           "limit: must be 1.." + std::to_string(store::kMaxFollowedThreadsLimit)));
  }
  deps_.store.list_followed_threads(who.user_id, limit, std::move(done));
}

void ThreadService::mark_thread_read(const auth::Actor& who, Id room_id, Id root_id,
                                     std::optional<std::int64_t> seq,
                                     store::Callback<core::FollowedThread> done) {
  auto& store = deps_.store;
  authorize_in_room(store, who, room_id, Action::kFollowThread,
                    [&store, who, room_id, root_id, seq,
                     done = std::move(done)](core::Result<Access> a) mutable {
                      if (!a) return done(a.take_error());
                      // The root must be of this room before anything is written.
                      store.message_by_id(root_id, [&store, who, room_id, root_id, seq,
                                                    done = std::move(done)](
                                                       core::Result<core::Message> root) mutable {
                        if (!root && root.error().code != Errc::kNotFound) {
                          return done(root.take_error());
                        }
                        if (!root || root->room_id != room_id || root->thread_root != 0) {
                          return done(thread_not_found());
                        }
                        store.mark_thread_read(root_id, who.user_id, seq.value_or(-1),
                                               std::move(done));
                      });
                    });
}

void ThreadService::edit_history(const auth::Actor& who, Id room_id, Id message_id,
                                 store::Callback<EditHistory> done) {
  auto& store = deps_.store;
  authorize_in_room(
      store, who, room_id, Action::kViewEditHistory,
      [&store, room_id, message_id, done = std::move(done)](core::Result<Access> a) mutable {
        if (!a) return done(a.take_error());
        store.message_by_id(message_id, [&store, room_id, done = std::move(done)](
                                            core::Result<core::Message> m) mutable {
          if (!m && m.error().code != Errc::kNotFound) return done(m.take_error());
          if (!m || m->room_id != room_id || m->deleted_at != 0) return done(message_not_found());
          auto message = std::make_shared<core::Message>(std::move(m.value()));
          store.message_revisions(
              message->id, [message, done = std::move(done)](
                               core::Result<std::vector<core::MessageRevision>> r) {
                if (!r) return done(r.take_error());
                done(EditHistory{std::move(*message), std::move(r.value())});
              });
        });
      });
}

}  // namespace parley::chat
