// store/conformance/store_conformance.h: the behaviour every Store backend must show (the
// contract in store/store.h), as one parameterised GoogleTest suite.
//
// A backend's test binary instantiates it with a factory that returns a fresh, empty store on
// every call (each test gets its own):
//
//   PARLEY_STORE_CONFORMANCE(Sqlite, [] { return std::unique_ptr<Store>(...); });
//
// and links `parley_store_conformance`. Backend-specific behaviour (reopen, files, queue limits)
// is tested beside the backend. Tests run on the GoogleTest main thread; the store calls back
// on its own threads, which `call` waits for.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "store/store.h"

namespace parley::store::conformance {

using StoreFactory = std::function<std::unique_ptr<Store>()>;

// Calls an asynchronous Store method and waits for its result. `start` receives the callback
// to pass on, e.g. `call<core::User>([&](auto done) { s.user_by_id(id, std::move(done)); })`.
// Fails the current test (without hanging) when the callback does not come within `timeout`,
// and when it runs inline in the calling thread or more than once.
template <class T, class Start>
core::Result<T> call(Start&& start, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  struct State {
    std::promise<core::Result<T>> promise;
    std::atomic<int> calls{0};
    std::atomic<bool> inline_call{false};
    std::thread::id caller = std::this_thread::get_id();
  };
  auto state = std::make_shared<State>();
  auto future = state->promise.get_future();
  start(Callback<T>([state](core::Result<T> r) {
    if (std::this_thread::get_id() == state->caller) state->inline_call = true;
    if (state->calls.fetch_add(1) == 0) state->promise.set_value(std::move(r));
  }));
  if (future.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "store callback not called within " << timeout.count() << " ms";
    return core::make_error(core::Errc::kInternal, "callback timeout");
  }
  EXPECT_FALSE(state->inline_call.load()) << "store callback ran inline in the caller's thread";
  auto result = future.get();
  EXPECT_EQ(state->calls.load(), 1) << "store callback called more than once";
  return result;
}

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }

  // Unique, increasing ids and times for this test (ids sort by creation, as real ids do).
  core::Id next_id() { return ++last_id_; }
  std::int64_t tick() { return ++now_; }

  // Helpers that ASSERT-fail the test when the store refuses.
  core::User make_user(const std::string& username, const std::string& display_name = "");
  core::Room make_group(const core::User& owner, const std::vector<core::User>& members,
                        const std::string& name = "team");
  core::Room make_dm(const core::User& a, const core::User& b);
  // Sends `body` as `sender` (client_txn_id = `txn`, or a fresh one when empty).
  core::Result<AppendResult> send(const core::Room& room, const core::User& sender,
                                  const std::string& body = "hello", const std::string& txn = "",
                                  core::Id reply_to = 0);
  core::Room room(core::Id id);
  std::vector<core::RoomEvent> all_events(core::Id room_id);

  std::unique_ptr<Store> store_;

 private:
  std::atomic<core::Id> last_id_{1'000'000};
  std::atomic<std::int64_t> now_{1'750'000'000'000};
  std::atomic<int> txn_{0};
};

}  // namespace parley::store::conformance

// Runs the whole conformance suite against the stores `factory` makes. Use at namespace scope.
#define PARLEY_STORE_CONFORMANCE(prefix, factory)                                 \
  using StoreConformance = ::parley::store::conformance::StoreConformance;        \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreConformance,                              \
                           ::testing::Values(::parley::store::conformance::StoreFactory(factory)))
