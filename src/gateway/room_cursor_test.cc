#include "gateway/room_cursor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::gateway {
namespace {

CursorItem ev(std::int64_t seq, core::Id left_user = 0) {
  return CursorItem{seq, std::make_shared<const std::string>("e" + std::to_string(seq)), left_user, 0};
}

std::vector<std::int64_t> seqs(const std::vector<CursorItem>& v) {
  std::vector<std::int64_t> s;
  for (const auto& i : v) s.push_back(i.seq);
  return s;
}

std::vector<CursorItem> evs(std::int64_t from, std::int64_t to) {
  std::vector<CursorItem> v;
  for (auto s = from; s <= to; ++s) v.push_back(ev(s));
  return v;
}

using Seqs = std::vector<std::int64_t>;

TEST(RoomCursor, InOrderEventsAreSentAtOnce) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  EXPECT_EQ(c.offer(ev(11), out), RoomCursor::Offer::kSent);
  EXPECT_EQ(c.offer(ev(12), out), RoomCursor::Offer::kSent);
  EXPECT_EQ(seqs(out), (Seqs{11, 12}));
  EXPECT_EQ(*out[0].frame, "e11");
  EXPECT_EQ(c.delivered(), 12);
  EXPECT_FALSE(c.wants_fetch());
}

TEST(RoomCursor, DuplicatesAreDropped) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  EXPECT_EQ(c.offer(ev(9), out), RoomCursor::Offer::kDuplicate);
  EXPECT_EQ(c.offer(ev(10), out), RoomCursor::Offer::kDuplicate);
  EXPECT_EQ(c.offer(ev(11), out), RoomCursor::Offer::kSent);
  EXPECT_EQ(c.offer(ev(11), out), RoomCursor::Offer::kDuplicate);
  EXPECT_EQ(seqs(out), (Seqs{11}));
}

TEST(RoomCursor, GapBuffersLiveEventsAndFetchFillsItInOrder) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  EXPECT_EQ(c.offer(ev(13), out), RoomCursor::Offer::kBuffered);
  EXPECT_EQ(c.offer(ev(14), out), RoomCursor::Offer::kBuffered);
  EXPECT_TRUE(out.empty()) << "nothing may be sent across a gap";
  EXPECT_EQ(c.known_last(), 14);
  EXPECT_EQ(c.gap(), 4);
  ASSERT_TRUE(c.wants_fetch());
  EXPECT_EQ(c.begin_fetch(), 10);
  EXPECT_FALSE(c.wants_fetch()) << "one fetch in flight at a time";
  // A live event arriving during the fetch is buffered too (duplicate of a buffered one: dropped).
  EXPECT_EQ(c.offer(ev(15), out), RoomCursor::Offer::kBuffered);
  EXPECT_EQ(c.offer(ev(14), out), RoomCursor::Offer::kDuplicate);
  // The store answers with 11..14 (it may already hold 13 and 14).
  EXPECT_EQ(c.end_fetch(evs(11, 14), out), RoomCursor::Fetched::kCaughtUp);
  EXPECT_EQ(seqs(out), (Seqs{11, 12, 13, 14, 15})) << "each seq exactly once, in order";
  EXPECT_EQ(c.delivered(), 15);
  EXPECT_EQ(c.buffered(), 0u);
  EXPECT_FALSE(c.wants_fetch());
}

TEST(RoomCursor, NextSeqDuringFetchIsSentAndFetchedCopyDropped) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  c.offer(ev(12), out);
  c.begin_fetch();
  EXPECT_EQ(c.offer(ev(11), out), RoomCursor::Offer::kSent) << "the next seq is always safe";
  EXPECT_EQ(seqs(out), (Seqs{11, 12}));
  out.clear();
  EXPECT_EQ(c.end_fetch(evs(11, 12), out), RoomCursor::Fetched::kCaughtUp);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(c.delivered(), 12);
}

TEST(RoomCursor, PartialFetchAsksForMore) {
  RoomCursor c(0);
  c.raise_known(250);  // e.g. resume: the snapshot says 250, the client has 0
  std::vector<CursorItem> out;
  ASSERT_TRUE(c.wants_fetch());
  EXPECT_EQ(c.begin_fetch(), 0);
  EXPECT_EQ(c.end_fetch(evs(1, 100), out), RoomCursor::Fetched::kMore);
  ASSERT_TRUE(c.wants_fetch());
  EXPECT_EQ(c.begin_fetch(), 100);
  EXPECT_EQ(c.end_fetch(evs(101, 200), out), RoomCursor::Fetched::kMore);
  c.begin_fetch();
  EXPECT_EQ(c.end_fetch(evs(201, 250), out), RoomCursor::Fetched::kCaughtUp);
  ASSERT_EQ(out.size(), 250u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].seq, static_cast<std::int64_t>(i + 1));
}

TEST(RoomCursor, FetchWithoutProgressIsStuckAndResetSkipsTheGap) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  c.offer(ev(20), out);
  c.begin_fetch();
  EXPECT_EQ(c.end_fetch({}, out), RoomCursor::Fetched::kStuck);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(c.reset(), 20) << "room.reset announces the newest known seq";
  EXPECT_EQ(c.delivered(), 20);
  EXPECT_EQ(c.buffered(), 0u);
  EXPECT_FALSE(c.wants_fetch());
  EXPECT_EQ(c.offer(ev(21), out), RoomCursor::Offer::kSent) << "live events follow the reset";
}

TEST(RoomCursor, FetchResultWithAHoleDoesNotSkipIt) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  c.raise_known(13);
  c.begin_fetch();
  std::vector<CursorItem> holey;
  holey.push_back(ev(11));
  holey.push_back(ev(13));
  EXPECT_EQ(c.end_fetch(std::move(holey), out), RoomCursor::Fetched::kMore);
  EXPECT_EQ(seqs(out), (Seqs{11}));
  EXPECT_EQ(c.delivered(), 11);
}

TEST(RoomCursor, BufferIsBoundedKeepingTheLowestSeqs) {
  RoomCursor c(0, 3);
  std::vector<CursorItem> out;
  EXPECT_EQ(c.offer(ev(5), out), RoomCursor::Offer::kBuffered);
  EXPECT_EQ(c.offer(ev(6), out), RoomCursor::Offer::kBuffered);
  EXPECT_EQ(c.offer(ev(7), out), RoomCursor::Offer::kBuffered);
  EXPECT_EQ(c.offer(ev(8), out), RoomCursor::Offer::kDropped);
  EXPECT_EQ(c.buffered(), 3u);
  EXPECT_EQ(c.offer(ev(3), out), RoomCursor::Offer::kBuffered) << "lower seq evicts the highest";
  EXPECT_EQ(c.buffered(), 3u);
  EXPECT_EQ(c.known_last(), 8) << "dropped events still count as known: they will be fetched";
  c.begin_fetch();
  EXPECT_EQ(c.end_fetch(evs(1, 2), out), RoomCursor::Fetched::kMore);
  EXPECT_EQ(seqs(out), (Seqs{1, 2, 3}));
  c.begin_fetch();
  EXPECT_EQ(c.end_fetch(evs(4, 8), out), RoomCursor::Fetched::kCaughtUp);
  EXPECT_EQ(seqs(out), (Seqs{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(RoomCursor, SnapshotOlderThanDeliveredIsHarmless) {
  RoomCursor c(10);
  std::vector<CursorItem> out;
  c.offer(ev(11), out);
  c.offer(ev(12), out);
  c.raise_known(11);  // a snapshot read before event 12 committed
  EXPECT_EQ(c.known_last(), 12);
  EXPECT_FALSE(c.wants_fetch());
  EXPECT_EQ(c.delivered(), 12);
}

TEST(RoomCursor, RaiseKnownOpensAGap) {
  RoomCursor c(5);
  c.raise_known(7);  // e.g. an ack for seq 7 or a settle snapshot
  EXPECT_TRUE(c.wants_fetch());
  EXPECT_EQ(c.gap(), 2);
}

TEST(RoomCursor, ProbeFetchesOnceWithoutAKnownGap) {
  RoomCursor c(5);
  EXPECT_FALSE(c.wants_fetch());
  c.request_probe();
  ASSERT_TRUE(c.wants_fetch());
  EXPECT_EQ(c.begin_fetch(), 5);
  std::vector<CursorItem> out;
  EXPECT_EQ(c.end_fetch({}, out), RoomCursor::Fetched::kCaughtUp) << "nothing missed: fine";
  EXPECT_FALSE(c.wants_fetch());
  c.request_probe();
  c.begin_fetch();
  EXPECT_EQ(c.end_fetch(evs(6, 7), out), RoomCursor::Fetched::kCaughtUp);
  EXPECT_EQ(seqs(out), (Seqs{6, 7})) << "events published before the subscription are found";
}

TEST(RoomCursor, CarriesLeftUserAndStamp) {
  RoomCursor c(0);
  std::vector<CursorItem> out;
  CursorItem i = ev(1, 77);
  i.stamp_ns = 123;
  c.offer(std::move(i), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].left_user, 77u);
  EXPECT_EQ(out[0].stamp_ns, 123);
}

}  // namespace
}  // namespace parley::gateway
