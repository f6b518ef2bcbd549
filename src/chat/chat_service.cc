#include "chat/chat_service.h"

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <utility>

#include "auth/policy.h"
#include "core/validate.h"

namespace parley::chat {

using auth::Action;
using core::Errc;
using core::make_error;

namespace {

// What the policy needs to know about the actor's place in a room.
struct RoomAccess {
  core::Room room;
  core::Member member;
};

auth::Subject subject(const Actor& who, const core::Member& m) {
  return auth::Subject{who.user_id, who.role, m.role};
}

core::Error room_not_found() { return make_error(Errc::kNotFound, "room not found"); }

// The store reports "not a member" as kForbidden; outsiders must not learn the room exists.
core::Error hide_membership(core::Error e) {
  if (e.code == Errc::kForbidden && e.message.find("member") != std::string::npos) {
    return room_not_found();
  }
  return e;
}

core::Status validate_room_name(const std::string& name) {
  auto st = core::validate_text("name", name, core::kMaxRoomNameBytes, false);
  if (!st) return st;
  if (name.find_first_not_of(' ') == std::string::npos) {
    return make_error(Errc::kInvalidArgument, "name: must not be empty");
  }
  return core::ok_status();
}

// Loads the actor's membership and the room; kNotFound when the actor is not a member.
void load_access(store::Store& store, Id user_id, Id room_id, Callback<RoomAccess> done) {
  store.member(room_id, user_id, [&store, room_id, done = std::move(done)](
                                     core::Result<core::Member> m) mutable {
    if (!m) {
      done(m.error().code == Errc::kNotFound ? room_not_found() : m.take_error());
      return;
    }
    store.room_by_id(room_id, [member = std::move(m.value()), done = std::move(done)](
                                  core::Result<core::Room> r) mutable {
      if (!r) {
        done(r.error().code == Errc::kNotFound ? room_not_found() : r.take_error());
        return;
      }
      done(RoomAccess{std::move(r.value()), std::move(member)});
    });
  });
}

// The actor's access to a room plus a live (not deleted) message of that room.
struct MessageAccess {
  RoomAccess access;
  core::Message message;
};

void load_message_access(store::Store& store, Id user_id, Id room_id, Id message_id,
                         Callback<MessageAccess> done) {
  load_access(store, user_id, room_id,
              [&store, room_id, message_id, done = std::move(done)](
                  core::Result<RoomAccess> a) mutable {
                if (!a) return done(a.take_error());
                store.message_by_id(message_id, [room_id, a = std::move(a.value()),
                                                 done = std::move(done)](
                                                    core::Result<core::Message> msg) mutable {
                  if (!msg || msg->room_id != room_id || msg->deleted_at != 0) {
                    return done(make_error(Errc::kNotFound, "message not found"));
                  }
                  done(MessageAccess{std::move(a), std::move(msg.value())});
                });
              });
}

}  // namespace

ChatService::ChatService(Deps deps, ChatConfig config)
    : deps_(deps),
      config_(config),
      renderer_(config.render),
      live_(LiveService::Deps{deps.store, deps.publisher, deps.clock}),
      threads_(ThreadService::Deps{deps.store, deps.publisher, deps.clock}),
      search_(SearchService::Deps{deps.store, deps.clock}, config.search) {}

store::ContentRequest ChatService::content_request(const Actor& who, std::string_view body,
                                                   std::shared_ptr<MentionDelta> delta) const {
  auto draft = std::make_shared<const render::Draft>(renderer_.render(body));
  store::ContentRequest req;
  req.mention_names = draft->usernames;
  req.count_members = draft->mentions_room || draft->mentions_here;
  req.compose = [who, draft, delta, min = config_.mention_all_min_members](
                    const store::ContentLookup& look) -> core::Result<store::MessageContent> {
    if (draft->mentions_room || draft->mentions_here) {
      auth::Target on;
      on.room_members = look.member_count;
      on.mention_all_min_members = min;
      auto st = auth::authorize(auth::Subject{who.user_id, who.role, look.role},
                                Action::kMentionAll, on);
      if (!st) return st.take_error();
    }
    store::MessageContent c;
    c.html = render::finish(*draft, look.user_ids);
    c.mentions.room = draft->mentions_room;
    c.mentions.here = draft->mentions_here;
    const core::Mentions* before = look.previous;
    auto mentioned_before = [before](Id id) {
      return before != nullptr &&
             std::find(before->user_ids.begin(), before->user_ids.end(), id) != before->user_ids.end();
    };
    for (std::size_t i = 0; i < look.user_ids.size(); ++i) {
      Id id = look.user_ids[i];
      if (id == 0) continue;
      c.mentions.user_ids.push_back(id);
      if (look.members[i] && id != who.user_id && !mentioned_before(id)) delta->user_ids.push_back(id);
    }
    delta->room = c.mentions.room && !(before != nullptr && before->room);
    delta->here = c.mentions.here && !(before != nullptr && before->here);
    delta->edited = before != nullptr;
    return c;
  };
  return req;
}

void ChatService::create_group(const Actor& who, CreateGroupRequest req,
                               Callback<core::Room> done) {
  if (auto st = validate_room_name(req.name); !st) return done(st.take_error());
  if (auto st = core::validate_text("topic", req.topic, core::kMaxTopicBytes, false); !st) {
    return done(st.take_error());
  }
  // Distinct members other than the creator.
  std::vector<Id> members;
  std::unordered_set<Id> seen{who.user_id};
  for (Id id : req.member_ids) {
    if (seen.insert(id).second) members.push_back(id);
  }
  if (static_cast<int>(members.size()) + 1 > config_.max_group_members) {
    return done(make_error(Errc::kInvalidArgument, "member_ids: too many members"));
  }
  store::NewGroupRoom r;
  r.id = deps_.ids.next();
  r.name = std::move(req.name);
  r.topic = std::move(req.topic);
  r.created_by = who.user_id;
  r.member_ids = members;
  r.created_at = deps_.clock.now_ms();
  auto& publisher = deps_.publisher;
  deps_.store.create_group_room(
      std::move(r), [&publisher, creator = who.user_id, members = std::move(members),
                     done = std::move(done)](core::Result<core::Room> room) {
        if (room) {
          publisher.room_joined(creator, *room);
          for (Id m : members) publisher.room_joined(m, *room);
        }
        done(std::move(room));
      });
}

void ChatService::open_dm(const Actor& who, Id peer, Callback<store::DmResult> done) {
  if (peer == who.user_id) {
    return done(make_error(Errc::kInvalidArgument, "user_id: cannot open a DM with yourself"));
  }
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  Id me = who.user_id;
  Id new_id = deps_.ids.next();
  std::int64_t now = deps_.clock.now_ms();
  store.user_by_id(peer, [&store, &publisher, me, peer, new_id, now,
                          done = std::move(done)](core::Result<core::User> u) mutable {
    if (!u || u->status != core::UserStatus::kActive) {
      return done(make_error(Errc::kNotFound, "user not found"));
    }
    store.get_or_create_dm(me, peer, new_id, now,
                           [&publisher, me, peer, done = std::move(done)](
                               core::Result<store::DmResult> r) {
                             if (!r) return done(r.take_error());
                             if (r->created) {
                               publisher.room_joined(me, r->room);
                               publisher.room_joined(peer, r->room);
                             }
                             done(std::move(r));
                           });
  });
}

void ChatService::room(const Actor& who, Id room_id, Callback<RoomDetails> done) {
  auto& store = deps_.store;
  load_access(store, who.user_id, room_id,
              [&store, who, done = std::move(done)](core::Result<RoomAccess> a) mutable {
                if (!a) return done(a.take_error());
                if (auto st = auth::authorize(subject(who, a->member), Action::kReadRoom); !st) {
                  return done(st.take_error());
                }
                store.list_members(a->room.id, [room = std::move(a->room), done = std::move(done)](
                                                   core::Result<std::vector<core::Member>> m) {
                  if (!m) return done(m.take_error());
                  done(RoomDetails{room, std::move(m.value())});
                });
              });
}

void ChatService::list_rooms(const Actor& who, Callback<std::vector<core::RoomSummary>> done) {
  deps_.store.rooms_for_user(who.user_id, std::move(done));
}

void ChatService::update_room(const Actor& who, Id room_id, std::optional<std::string> name,
                              std::optional<std::string> topic, Callback<core::RoomEvent> done) {
  update_room(who, room_id, RoomUpdateRequest{std::move(name), std::move(topic), std::nullopt},
              std::move(done));
}

void ChatService::update_room(const Actor& who, Id room_id, RoomUpdateRequest req,
                              Callback<core::RoomEvent> done) {
  auto& [name, topic, pin_policy] = req;
  if (!name && !topic && !pin_policy) {
    return done(make_error(Errc::kInvalidArgument, "name, topic or pin_policy required"));
  }
  if (name) {
    if (auto st = validate_room_name(*name); !st) return done(st.take_error());
  }
  if (topic) {
    if (auto st = core::validate_text("topic", *topic, core::kMaxTopicBytes, false); !st) {
      return done(st.take_error());
    }
  }
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  std::int64_t now = deps_.clock.now_ms();
  load_access(store, who.user_id, room_id,
              [&store, &publisher, who, room_id, name = std::move(name), topic = std::move(topic),
               pin_policy = pin_policy, now, done = std::move(done)](core::Result<RoomAccess> a) mutable {
                if (!a) return done(a.take_error());
                auto st = auth::authorize(subject(who, a->member), Action::kUpdateRoom,
                                          auth::Target{a->room.kind, 0, std::nullopt});
                if (!st) return done(st.take_error());
                store::RoomChange ch;
                ch.room_id = room_id;
                ch.name = std::move(name);
                ch.topic = std::move(topic);
                ch.pin_policy = pin_policy;
                ch.actor = who.user_id;
                ch.now = now;
                store.change_room(std::move(ch), [&publisher, done = std::move(done)](
                                                     core::Result<core::RoomEvent> e) {
                  if (e) publisher.room_event(*e);
                  done(std::move(e));
                });
              });
}

void ChatService::add_member(const Actor& who, Id room_id, Id user_id,
                             Callback<core::RoomEvent> done) {
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  std::int64_t now = deps_.clock.now_ms();
  int cap = config_.max_group_members;
  load_access(store, who.user_id, room_id,
              [&store, &publisher, who, room_id, user_id, now, cap,
               done = std::move(done)](core::Result<RoomAccess> a) mutable {
                if (!a) return done(a.take_error());
                auto st = auth::authorize(subject(who, a->member), Action::kAddMember,
                                          auth::Target{a->room.kind, 0, std::nullopt});
                if (!st) return done(st.take_error());
                store.user_by_id(user_id, [&store, &publisher, who, room_id, user_id, now, cap,
                                           done = std::move(done)](
                                              core::Result<core::User> u) mutable {
                  if (!u || u->status != core::UserStatus::kActive) {
                    return done(make_error(Errc::kNotFound, "user not found"));
                  }
                  store.list_members(room_id, [&store, &publisher, who, room_id, user_id, now,
                                               cap, done = std::move(done)](
                                                  core::Result<std::vector<core::Member>> ms) mutable {
                    if (!ms) return done(ms.take_error());
                    if (static_cast<int>(ms->size()) >= cap) {
                      return done(make_error(Errc::kInvalidArgument, "the room is full"));
                    }
                    store.add_member(
                        room_id, user_id, core::MemberRole::kMember, who.user_id, now,
                        [&store, &publisher, room_id, user_id, done = std::move(done)](
                            core::Result<core::RoomEvent> e) mutable {
                          if (!e) return done(std::move(e));
                          publisher.room_event(*e);
                          // The new member follows the room from the join event on.
                          store.room_by_id(room_id, [&publisher, user_id, e = std::move(e.value()),
                                                     done = std::move(done)](
                                                        core::Result<core::Room> r) mutable {
                            if (r) {
                              core::Room room = std::move(r.value());
                              room.last_seq = std::max(room.last_seq, e.seq);
                              publisher.room_joined(user_id, room);
                            }
                            done(std::move(e));
                          });
                        });
                  });
                });
              });
}

void ChatService::remove_member(const Actor& who, Id room_id, Id user_id,
                                Callback<core::RoomEvent> done) {
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  std::int64_t now = deps_.clock.now_ms();
  // Stores the removal once the policy has agreed.
  auto remove = [&store, &publisher, who, room_id, user_id, now](Callback<core::RoomEvent> done) {
    store.remove_member(room_id, user_id, who.user_id, now,
                        [&publisher, done = std::move(done)](core::Result<core::RoomEvent> e) {
                          if (e) publisher.room_event(*e);
                          done(std::move(e));
                        });
  };
  load_access(store, who.user_id, room_id,
              [&store, who, room_id, user_id, remove,
               done = std::move(done)](core::Result<RoomAccess> a) mutable {
                if (!a) return done(a.take_error());
                if (user_id == who.user_id) {
                  auto st = auth::authorize(subject(who, a->member), Action::kLeaveRoom,
                                            auth::Target{a->room.kind, 0, a->member.role});
                  if (!st) return done(st.take_error());
                  return remove(std::move(done));
                }
                core::RoomKind kind = a->room.kind;
                core::MemberRole mine = a->member.role;
                store.member(room_id, user_id, [who, kind, mine, remove,
                                                done = std::move(done)](
                                                   core::Result<core::Member> target) mutable {
                  if (!target) return done(target.take_error());
                  auto st = auth::authorize(auth::Subject{who.user_id, who.role, mine},
                                            Action::kRemoveMember,
                                            auth::Target{kind, 0, target->role});
                  if (!st) return done(st.take_error());
                  remove(std::move(done));
                });
              });
}

void ChatService::send(const Actor& who, SendRequest req, Callback<store::AppendResult> done) {
  if (auto st = core::validate_client_txn_id(req.client_txn_id); !st) {
    return done(st.take_error());
  }
  if (req.attachment_ids.empty() || req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    if (auto st = core::validate_body(req.body); !st) return done(st.take_error());
  } else {
    req.body.clear();  // attachments only
  }
  if (req.attachment_ids.size() > static_cast<std::size_t>(store::kMaxAttachmentsPerMessage)) {
    return done(core::make_error(core::Errc::kInvalidArgument,
                                 "attachments: at most " +
                                     std::to_string(store::kMaxAttachmentsPerMessage) +
                                     " per message"));
  }
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  store::NewMessage m;
  m.id = deps_.ids.next();
  m.room_id = req.room_id;
  m.sender_id = who.user_id;
  m.client_txn_id = std::move(req.client_txn_id);
  m.body = std::move(req.body);
  m.reply_to = req.reply_to;
  m.thread_root = req.thread_root;
  m.attachment_ids = std::move(req.attachment_ids);
  m.created_at = deps_.clock.now_ms();
  // The policy decides inside the storing transaction, on the sender's current membership: no
  // separate read, so a client's pipelined sends are committed in the order it sent them.
  m.authorize = [who](std::optional<core::MemberRole> role) {
    return auth::authorize(auth::Subject{who.user_id, who.role, role}, Action::kSendMessage);
  };
  auto delta = std::make_shared<MentionDelta>();
  m.content = content_request(who, m.body, delta);
  store.append_message(std::move(m), [&publisher, sink = deps_.mentions, delta,
                                      done = std::move(done)](core::Result<store::AppendResult> r) {
    if (!r) return done(hide_membership(r.take_error()));
    if (!r->duplicate) {
      publisher.room_event(r->event);
      if (sink != nullptr && (!delta->user_ids.empty() || delta->room || delta->here)) {
        sink->mentioned(*r->event.message, *delta);
      }
    }
    done(std::move(r));
  });
}

void ChatService::edit(const Actor& who, Id room_id, Id message_id, std::string body,
                       Callback<core::RoomEvent> done) {
  if (auto st = core::validate_body(body); !st) return done(st.take_error());
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  std::int64_t now = deps_.clock.now_ms();
  auto delta = std::make_shared<MentionDelta>();
  store::MessageEdit x;
  x.room_id = room_id;
  x.message_id = message_id;
  x.only_sender = who.user_id;
  x.actor = who.user_id;
  x.now = now;
  x.content = content_request(who, body, delta);
  x.body = std::move(body);
  load_message_access(
      store, who.user_id, room_id, message_id,
      [&store, &publisher, who, x = std::move(x), delta, sink = deps_.mentions,
       done = std::move(done)](core::Result<MessageAccess> m) mutable {
        if (!m) return done(m.take_error());
        auto st = auth::authorize(subject(who, m->access.member), Action::kEditMessage,
                                  auth::Target{m->access.room.kind, m->message.sender_id,
                                               std::nullopt});
        if (!st) return done(st.take_error());
        store.edit_message(std::move(x), [&publisher, delta, sink, done = std::move(done)](
                                             core::Result<core::RoomEvent> e) {
          if (e) {
            publisher.room_event(*e);
            if (sink != nullptr && e->message &&
                (!delta->user_ids.empty() || delta->room || delta->here)) {
              sink->mentioned(*e->message, *delta);
            }
          }
          done(std::move(e));
        });
      });
}

void ChatService::remove_message(const Actor& who, Id room_id, Id message_id,
                                 Callback<core::RoomEvent> done) {
  auto& store = deps_.store;
  auto& publisher = deps_.publisher;
  std::int64_t now = deps_.clock.now_ms();
  load_message_access(
      store, who.user_id, room_id, message_id,
      [&store, &publisher, who, room_id, message_id, now,
       done = std::move(done)](core::Result<MessageAccess> m) mutable {
        if (!m) return done(m.take_error());
        auto st = auth::authorize(subject(who, m->access.member), Action::kDeleteMessage,
                                  auth::Target{m->access.room.kind, m->message.sender_id,
                                               std::nullopt});
        if (!st) return done(st.take_error());
        // A moderator's deletion is not restricted to a sender; the sender's own is.
        Id only_sender = m->message.sender_id == who.user_id ? who.user_id : 0;
        store.delete_message(room_id, message_id, only_sender, who.user_id, now,
                             [&publisher, done = std::move(done)](core::Result<core::RoomEvent> e) {
                               if (e) publisher.room_event(*e);
                               done(std::move(e));
                             });
      });
}

void ChatService::history(const Actor& who, store::HistoryQuery q,
                          Callback<std::vector<core::Message>> done) {
  int set = (q.before != 0) + (q.after != 0) + (q.around != 0);
  if (set > 1) {
    return done(make_error(Errc::kInvalidArgument, "use at most one of before, after, around"));
  }
  if (q.limit < 1 || q.limit > 101) {  // 101: REST asks for one extra to compute has_more
    return done(make_error(Errc::kInvalidArgument, "limit: must be 1..100"));
  }
  auto& store = deps_.store;
  store.member(q.room_id, who.user_id,
               [&store, who, q, done = std::move(done)](core::Result<core::Member> m) mutable {
                 if (!m) return done(m.error().code == Errc::kNotFound ? room_not_found()
                                                                       : m.take_error());
                 if (auto st = auth::authorize(subject(who, *m), Action::kReadRoom); !st) {
                   return done(st.take_error());
                 }
                 store.history(q, std::move(done));
               });
}

void ChatService::events_since(const Actor& who, Id room_id, std::int64_t after_seq, int limit,
                               Callback<std::vector<core::RoomEvent>> done) {
  if (after_seq < 0) return done(make_error(Errc::kInvalidArgument, "after_seq: must be >= 0"));
  if (limit < 1 || limit > std::max(500, config_.replay_cap)) {
    return done(make_error(Errc::kInvalidArgument, "limit: out of range"));
  }
  auto& store = deps_.store;
  store.member(room_id, who.user_id,
               [&store, who, room_id, after_seq, limit,
                done = std::move(done)](core::Result<core::Member> m) mutable {
                 if (!m) return done(m.error().code == Errc::kNotFound ? room_not_found()
                                                                       : m.take_error());
                 if (auto st = auth::authorize(subject(who, *m), Action::kReadRoom); !st) {
                   return done(st.take_error());
                 }
                 store.events_since(room_id, after_seq, limit, std::move(done));
               });
}

}  // namespace parley::chat
