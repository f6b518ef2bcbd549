// bench/micro/fanout_bench.cc: fanning one committed event out to 1,000 local sessions of a
// room: Hub::room_event (encode once, publish on the in-process bus) through the Hub's dispatch
// to every follower. The followers are fakes that keep the shared Delivery, as a session does
// before posting it to its strand; socket writes are not included. Uses the gateway's internal
// Follower seam (gateway/internal/hub_impl.h), as the gateway's own tests do.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bus/local/local_bus.h"
#include "gateway/hub.h"
#include "gateway/internal/hub_impl.h"
#include "ops/metrics.h"

namespace parley {
namespace {

class KeepingFollower final : public gateway::Follower {
 public:
  void deliver(const gateway::DeliveryPtr& d) override { last_ = d; }

 private:
  gateway::DeliveryPtr last_;
};

void BM_FanOutToLocalSessions(benchmark::State& state) {
  const auto sessions = static_cast<int>(state.range(0));
  bus::LocalBus bus;
  ops::Registry metrics;
  gateway::Hub hub(bus, metrics);
  const core::Id room = 7213848202801;
  std::vector<std::shared_ptr<KeepingFollower>> followers;
  for (int i = 0; i < sessions; ++i) {
    followers.push_back(std::make_shared<KeepingFollower>());
    hub.impl().follow(bus::Topic{bus::Topic::Kind::kRoom, room}, followers.back());
  }
  core::Message m;
  m.id = 7213848299008;
  m.room_id = room;
  m.sender_id = 7213848202752;
  m.client_txn_id = "t42-17";
  m.body = std::string(250, 'x');
  m.created_at = 1764380000000;
  core::RoomEvent e;
  e.room_id = room;
  e.type = core::EventType::kMessageCreated;
  e.actor_id = m.sender_id;
  e.created_at = m.created_at;
  std::int64_t seq = 0;
  for (auto _ : state) {
    e.seq = m.seq = ++seq;
    e.message = m;
    hub.room_event(e);
  }
  state.SetItemsProcessed(state.iterations() * sessions);  // deliveries
}
BENCHMARK(BM_FanOutToLocalSessions)->Arg(1000);

}  // namespace
}  // namespace parley
