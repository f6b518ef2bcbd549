#include "gateway/room_cursor.h"

#include <algorithm>
#include <utility>

namespace parley::gateway {

RoomCursor::RoomCursor(std::int64_t delivered, std::size_t max_buffered)
    : delivered_(delivered),
      known_last_(delivered),
      max_buffered_(static_cast<std::uint32_t>(max_buffered)) {}

RoomCursor::Offer RoomCursor::offer(CursorItem item, std::vector<CursorItem>& out) {
  raise_known(item.seq);
  if (item.seq <= delivered_) return Offer::kDuplicate;
  if (item.seq == delivered_ + 1) {
    // Always safe to send the next seq, even while a fetch is in flight: the fetch's copies of
    // it will be dropped as duplicates.
    delivered_ = item.seq;
    out.push_back(std::move(item));
    drain(out);
    return Offer::kSent;
  }
  auto it = std::lower_bound(buffer_.begin(), buffer_.end(), item.seq,
                             [](const CursorItem& a, std::int64_t s) { return a.seq < s; });
  if (it != buffer_.end() && it->seq == item.seq) return Offer::kDuplicate;
  auto pos = it - buffer_.begin();
  if (buffer_.size() >= max_buffered_) {
    // Keep the lowest seqs: they are flushed first once the gap closes; the rest is refetched.
    if (it == buffer_.end()) return Offer::kDropped;
    buffer_.pop_back();
  }
  buffer_.insert(buffer_.begin() + pos, std::move(item));
  return Offer::kBuffered;
}

void RoomCursor::raise_known(std::int64_t seq) { known_last_ = std::max(known_last_, seq); }

std::int64_t RoomCursor::begin_fetch() {
  fetching_ = true;
  probe_ = false;
  return delivered_;
}

RoomCursor::Fetched RoomCursor::end_fetch(std::vector<CursorItem> fetched,
                                          std::vector<CursorItem>& out) {
  fetching_ = false;
  const std::int64_t before = delivered_;
  for (CursorItem& item : fetched) {
    raise_known(item.seq);
    if (item.seq != delivered_ + 1) continue;  // duplicates (and, defensively, holes)
    delivered_ = item.seq;
    out.push_back(std::move(item));
    // Live events buffered during the fetch may overlap the fetched range: drop those.
    while (!buffer_.empty() && buffer_.front().seq <= delivered_) buffer_.erase(buffer_.begin());
  }
  drain(out);
  if (delivered_ >= known_last_) return Fetched::kCaughtUp;
  return delivered_ > before ? Fetched::kMore : Fetched::kStuck;
}

std::int64_t RoomCursor::reset() {
  delivered_ = known_last_;
  buffer_.clear();
  buffer_.shrink_to_fit();
  probe_ = false;
  return delivered_;
}

void RoomCursor::drain(std::vector<CursorItem>& out) {
  std::size_t n = 0;
  while (n < buffer_.size() && buffer_[n].seq <= delivered_ + 1) {
    if (buffer_[n].seq == delivered_ + 1) {
      delivered_ = buffer_[n].seq;
      out.push_back(std::move(buffer_[n]));
    }
    ++n;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  if (buffer_.empty() && buffer_.capacity() > 0) buffer_.shrink_to_fit();
}

}  // namespace parley::gateway
