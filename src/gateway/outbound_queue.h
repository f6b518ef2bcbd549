// gateway/outbound_queue.h: a WebSocket session's outbound frames, capped in bytes.
//
// The session's single writer sends the first frames (front(), at(1), ...) in one write, then
// pop()s them when it completes, so frames being written still count against the cap (they are
// memory the client owes us). Live
// traffic is pushed with push(): above `cap_bytes` the push is refused with kOverCap and the
// session closes the connection as a slow consumer (4010). Replayed history is pushed with
// push_forced(): it never trips the cap, because the session paces replay itself (it fetches
// the next page only when bytes() is below half the cap); its bytes still count in bytes().
// A live frame is always accepted when no other live frame is queued, whatever its size (so a
// frame larger than the cap can still be sent).
//
// Idle footprint is one empty vector (no allocation): storage is released when the queue
// empties. Not thread-safe: owned by one session, used on its strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gateway/room_cursor.h"

namespace parley::gateway {

class OutboundQueue {
 public:
  struct Item {
    Frame frame;
    std::int64_t stamp_ns = 0;  // when the node received the event (0: not a broadcast event)
    bool forced = false;
  };

  explicit OutboundQueue(std::size_t cap_bytes) : cap_bytes_(cap_bytes) {}

  enum class Push { kOk, kOverCap };
  Push push(Frame frame, std::int64_t stamp_ns = 0);
  void push_forced(Frame frame, std::int64_t stamp_ns = 0);

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  // Bytes of every queued frame, the one being written included.
  std::size_t bytes() const { return bytes_; }
  // Bytes of frames pushed with push() (what the cap applies to).
  std::size_t capped_bytes() const { return capped_bytes_; }
  std::size_t cap_bytes() const { return cap_bytes_; }

  // REQUIRES: !empty().
  const Item& front() const { return items_[head_]; }
  // The i-th queued item, front() being 0. REQUIRES: i < size().
  const Item& at(std::size_t i) const { return items_[head_ + i]; }
  // Removes front() (its write completed). REQUIRES: !empty().
  void pop();
  // Drops everything (the connection is closing).
  void clear();

 private:
  std::size_t cap_bytes_;
  std::size_t bytes_ = 0;
  std::size_t capped_bytes_ = 0;
  std::size_t head_ = 0;
  std::vector<Item> items_;  // [head_, size) are queued; compacted as the head advances
};

}  // namespace parley::gateway
