#include "gateway/outbound_queue.h"

#include <cassert>
#include <utility>

namespace parley::gateway {

OutboundQueue::Push OutboundQueue::push(Frame frame, std::int64_t stamp_ns) {
  const std::size_t n = frame->size();
  if (capped_bytes_ > 0 && capped_bytes_ + n > cap_bytes_) return Push::kOverCap;
  bytes_ += n;
  capped_bytes_ += n;
  items_.push_back(Item{std::move(frame), stamp_ns, false});
  return Push::kOk;
}

void OutboundQueue::push_forced(Frame frame, std::int64_t stamp_ns) {
  bytes_ += frame->size();
  items_.push_back(Item{std::move(frame), stamp_ns, true});
}

void OutboundQueue::pop() {
  assert(!empty());
  Item& it = items_[head_];
  const std::size_t n = it.frame->size();
  bytes_ -= n;
  if (!it.forced) capped_bytes_ -= n;
  it.frame.reset();
  ++head_;
  if (head_ == items_.size()) {
    // Empty: give the storage back (idle sessions should cost nothing here).
    items_.clear();
    if (items_.capacity() > 8) items_.shrink_to_fit();
    head_ = 0;
  } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutboundQueue::clear() {
  items_.clear();
  items_.shrink_to_fit();
  head_ = 0;
  bytes_ = 0;
  capped_bytes_ = 0;
}

}  // namespace parley::gateway
