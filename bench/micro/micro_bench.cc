// bench/micro/micro_bench.cc: Google Benchmark micro-benchmarks of the server's hot paths:
// decoding a gateway `send` frame, encoding a room event once (the frame every recipient
// shares), and one group commit of 100 messages into SqliteStore (synchronous=FULL, temp dir).
// Run by hand: build/bench/parley_micro_bench [--benchmark_filter=...]. Not part of `make test`.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "api/json.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/validate.h"
#include "store/sqlite/sqlite_store.h"

namespace parley {
namespace {

const std::string kBody(250, 'x');

std::string send_frame() {
  return R"({"op":"send","id":"s123","d":{"room_id":"7213848202801","client_txn_id":"t42-17","body":")" +
         kBody + R"("}})";
}

// What the gateway does with each inbound `send`: parse, pick the fields, validate the body.
void BM_DecodeSendFrame(benchmark::State& state) {
  const std::string text = send_frame();
  for (auto _ : state) {
    auto frame = api::parse_object(text);
    if (!frame) state.SkipWithError("parse failed");
    auto op = api::get_string(*frame, "op");
    const auto& d = frame->at("d").as_object();
    auto room = api::get_id(d, "room_id");
    auto txn = api::get_string(d, "client_txn_id");
    auto body = api::get_string(d, "body");
    auto valid = core::validate_body(*body);
    benchmark::DoNotOptimize(op);
    benchmark::DoNotOptimize(room);
    benchmark::DoNotOptimize(txn);
    benchmark::DoNotOptimize(valid);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_DecodeSendFrame);

// Encoding a message.created event once; the result is shared by every recipient.
void BM_EncodeEventOnce(benchmark::State& state) {
  core::Message m;
  m.id = 7213848299008;
  m.room_id = 7213848202801;
  m.seq = 12;
  m.sender_id = 7213848202752;
  m.client_txn_id = "t42-17";
  m.body = kBody;
  m.created_at = 1764380000000;
  core::RoomEvent e;
  e.room_id = m.room_id;
  e.seq = m.seq;
  e.type = core::EventType::kMessageCreated;
  e.actor_id = m.sender_id;
  e.created_at = m.created_at;
  e.message = m;
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto frame = api::event_frame(e);
    bytes = frame.size();
    benchmark::DoNotOptimize(frame);
  }
  state.counters["frame_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeEventOnce);

// A 16-hex-digit client transaction id.
std::string random_txn_id(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t v = rng();
  for (char& ch : out) {
    ch = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

// About 250 bytes of words drawn from a 2,000-word vocabulary with a skew (a few words are
// common, most are rare), like chat text as the full-text index sees it.
std::string chat_body(std::mt19937_64& rng) {
  static const std::vector<std::string> kWords = [] {
    std::vector<std::string> w;
    std::mt19937_64 g(7);
    for (int i = 0; i < 2000; ++i) {
      std::string word;
      const int len = 2 + static_cast<int>(g() % 8);
      for (int k = 0; k < len; ++k) word += static_cast<char>('a' + g() % 26);
      w.push_back(std::move(word));
    }
    return w;
  }();
  std::string body;
  while (body.size() < 250) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    body += kWords[static_cast<std::size_t>(u * u * u * static_cast<double>(kWords.size()))];
    body += ' ';
  }
  body.resize(250);
  return body;
}

// Waits for n store callbacks (they arrive on the store's thread).
class Countdown {
 public:
  void reset(int n) {
    std::lock_guard lock(mu_);
    left_ = n;
    failed_ = false;
  }
  void done(bool ok) {
    std::lock_guard lock(mu_);
    if (!ok) failed_ = true;
    if (--left_ == 0) cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return left_ == 0; });
    return !failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_ = 0;
  bool failed_ = false;
};

// A burst of sends issued at once and all acknowledged: the store's writer should commit them in
// one (or a few, max_batch 512) fsync'd transactions. Args: rooms the messages rotate over (1 or
// 1,000), messages per burst (100: "one group commit of 100"; 1,000: sustained durable writes).
void BM_GroupCommit(benchmark::State& state) {
  const int rooms_n = static_cast<int>(state.range(0));
  const int burst = static_cast<int>(state.range(1));
  auto dir = std::filesystem::temp_directory_path() /
             ("parley-micro-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  core::SystemClock clock;
  core::IdGenerator ids(clock, 1);
  store::SqliteConfig config;
  config.path = (dir / "parley.db").string();
  config.synchronous = "full";
  config.read_connections = 2;
  config.max_batch = 512;
  {
    auto opened = store::SqliteStore::open(config, nullptr);
    if (!opened) {
      state.SkipWithError(opened.error().message.c_str());
      return;
    }
    auto& db = *opened.value();
    Countdown cd;
    const auto now = clock.now_ms();
    store::NewUser u;
    u.id = ids.next();
    u.username = "micro";
    u.password_hash = "x";
    u.created_at = now;
    cd.reset(1);
    db.create_user(u, [&](core::Result<core::User> r) { cd.done(r.ok()); });
    if (!cd.wait()) state.SkipWithError("create_user failed");
    std::vector<core::Id> rooms;
    cd.reset(rooms_n);
    for (int r = 0; r < rooms_n; ++r) {
      store::NewGroupRoom g;
      g.id = ids.next();
      g.name = "room" + std::to_string(r);
      g.created_by = u.id;
      g.created_at = now;
      rooms.push_back(g.id);
      db.create_group_room(g, [&](core::Result<core::Room> res) { cd.done(res.ok()); });
    }
    if (!cd.wait()) state.SkipWithError("create_group_room failed");
    // Client transaction ids as clients make them (random, so the (sender, client_txn_id) index
    // is written all over, not appended to) and bodies of ordinary words (each one an FTS5 term).
    std::mt19937_64 rng(42);
    std::size_t next_room = 0;
    for (auto _ : state) {
      cd.reset(burst);
      for (int i = 0; i < burst; ++i) {
        store::NewMessage m;
        m.id = ids.next();
        m.room_id = rooms[next_room++ % rooms.size()];
        m.sender_id = u.id;
        m.client_txn_id = random_txn_id(rng);
        m.body = chat_body(rng);
        m.created_at = now;
        db.append_message(std::move(m), [&](core::Result<store::AppendResult> r) { cd.done(r.ok()); });
      }
      if (!cd.wait()) {
        state.SkipWithError("append_message failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * burst);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_GroupCommit)
    ->ArgNames({"rooms", "burst"})
    ->Args({1, 100})
    ->Args({1000, 100})
    ->Args({1, 1000})
    ->Args({1000, 1000})
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
