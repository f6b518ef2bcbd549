// gateway/room_cursor.h: one session's delivery position in one room, and the rule that makes
// per-room delivery gap-free and duplicate-free (docs/protocol.md, "Delivery guarantees").
//
// The cursor knows `delivered` (the highest seq the client holds) and `known_last` (the highest
// seq known to exist: from live publications, the room snapshot, an ack or room.joined).
// A live event with seq == delivered + 1 is sent at once; seq <= delivered is a duplicate and is
// dropped; seq > delivered + 1 means a gap: the event is buffered (bounded; beyond the bound it is
// dropped, the store still has it) and the owner fetches the missing range from the store
// (begin_fetch/end_fetch), after which everything is flushed in order. The same mechanism serves
// resume (delivered = the client's position), the window between subscribing and the snapshot,
// joining a room, and a bus that loses publications.
//
// Pure value type, no I/O, no locking: owned and used by one session on its strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/id.h"

namespace parley::gateway {

// An encoded gateway frame, shared by every recipient of a broadcast.
using Frame = std::shared_ptr<const std::string>;

struct CursorItem {
  std::int64_t seq = 0;
  Frame frame;
  core::Id left_user = 0;      // member.left events: the user who left (else 0)
  std::int64_t stamp_ns = 0;   // steady-clock ns when this node received it; 0 for fetched ones
};

class RoomCursor {
 public:
  // Live events buffered while a gap is open (per room). Beyond this they are dropped and
  // fetched from the store with the rest of the gap.
  static constexpr std::size_t kDefaultMaxBuffered = 64;

  explicit RoomCursor(std::int64_t delivered, std::size_t max_buffered = kDefaultMaxBuffered);

  std::int64_t delivered() const { return delivered_; }
  std::int64_t known_last() const { return known_last_; }
  // Events known to exist that the client does not have yet.
  std::int64_t gap() const { return known_last_ - delivered_; }
  bool fetching() const { return fetching_; }
  std::size_t buffered() const { return buffer_.size(); }

  enum class Offer { kSent, kDuplicate, kBuffered, kDropped };
  // A live event. Appends to `out`, in seq order, whatever may be sent now (the event itself and
  // buffered successors it connects to). kBuffered/kDropped: a gap is open; see wants_fetch().
  Offer offer(CursorItem item, std::vector<CursorItem>& out);

  // Learns that events up to `seq` exist (snapshot, ack, room.joined). Never lowers anything.
  void raise_known(std::int64_t seq);
  // Asks for one fetch even without a known gap (after subscribing late to a room's topic:
  // events published before the subscription are only in the store).
  void request_probe() { probe_ = true; }

  // True when a fetch should start: a gap (or a probe) and no fetch in flight.
  bool wants_fetch() const { return !fetching_ && (probe_ || delivered_ < known_last_); }
  // Marks a fetch in flight; returns the seq to fetch after (== delivered()).
  std::int64_t begin_fetch();

  enum class Fetched {
    kCaughtUp,  // delivered() == known_last(): nothing missing
    kMore,      // progress made, still behind: fetch again
    kStuck,     // no progress although behind: give up with reset()
  };
  // The store's answer (events after the begin_fetch() seq, ascending). Appends what may be
  // sent, in order, to `out`.
  Fetched end_fetch(std::vector<CursorItem> fetched, std::vector<CursorItem>& out);
  // The fetch failed: no longer in flight (the owner decides what to do, usually reset()).
  void abandon_fetch() { fetching_ = false; }

  // Gives up on the gap: the client is told room.reset {last_seq} and refetches history.
  // Everything up to known_last() counts as delivered; buffered events are discarded.
  // Returns the new delivered() (the last_seq to announce).
  std::int64_t reset();

 private:
  // Moves buffered events that now connect to `delivered_` into `out`.
  void drain(std::vector<CursorItem>& out);

  std::int64_t delivered_;
  std::int64_t known_last_;
  std::uint32_t max_buffered_;
  bool fetching_ = false;
  bool probe_ = false;
  std::vector<CursorItem> buffer_;  // sorted by seq, all > delivered_ + 1, no duplicates
};

}  // namespace parley::gateway
