// chat/mention_sink.h: the hook through which alerts (the notify module, issue "alerts") learn
// whom a message mentions. The chat service calls it after the store has committed a new
// message or an edit, on the store's completion thread, after Publisher::room_event for the
// same change, and only when something new is mentioned. Implementations must be quick and must
// not block (queue the work; look members up later). serve.cc wires NullMentionSink until
// alerts exist.
#pragma once

#include <vector>

#include "core/types.h"

namespace parley::chat {

// What a committed message (or edit) newly mentions.
struct MentionDelta {
  // Members of the room (at commit) mentioned by @username, the author excluded; for an edit,
  // only those the previous version did not mention.
  std::vector<core::Id> user_ids;
  bool room = false;    // @room is new: every member (the sink expands it)
  bool here = false;    // @here is new: every member who is online (the sink decides)
  bool edited = false;  // from an edit (message.updated), not a new message
};

class MentionSink {
 public:
  virtual ~MentionSink() = default;
  // `message` as stored (body, html, mentions); `delta` is never empty.
  virtual void mentioned(const core::Message& message, const MentionDelta& delta) = 0;
};

// Does nothing (no alerts yet, and tools).
class NullMentionSink final : public MentionSink {
 public:
  void mentioned(const core::Message&, const MentionDelta&) override {}
};

}  // namespace parley::chat
