// bench/run_state.h: what every client session of one parley-bench process shares: options,
// the seed, the phases, per-room final seqs and the counters that end up in the report.
//
// Threading: created and filled on the main thread before the io_context runs; while it runs,
// sessions update only atomics (counters, histograms, room_final_seq) from any thread, and the
// controller coroutine reads them. Everything else here is read-only during the run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "seed_file.h"
#include "stats.h"

namespace parley::bench {

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string seed_file;
  std::string host = "127.0.0.1";
  int port = 8080;
  int shard = 0;
  int shards = 1;
  int max_connections = 0;       // 0 = every user of this shard
  double ramp_per_s = 500;       // connect+identify attempts started per second (this process)
  int threads = 1;               // io_context threads (1-2)
  int source_addrs = 8;          // bind clients round-robin to 127.0.0.2 .. 127.0.0.(1+n); 0 = no bind
  struct Phase {
    std::string name;
    double duration_s = 10;
    double rate = 100;           // messages per second, total over all shards
  };
  std::vector<Phase> phases;
  double mix_dm = 60, mix_small = 35, mix_large = 5;  // percentages of sends per room class
  std::size_t large_threshold = 100;  // groups with more members are "large"
  std::size_t body_bytes = 250;
  double reconnects_per_min = 0;  // churn: random clients drop and resume (total over shards)
  double connect_timeout_s = 60;  // all connections identified within this after the ramp, or go on
  double settle_s = 2;            // idle pause after the ramp (RSS per idle connection)
  double drain_s = 10;            // after the last phase: wait for acks and deliveries at most this
  int max_pending_per_client = 64;  // sends awaiting ack per session; more are skipped (counted)
  int heartbeat_ms = 30000;       // overwritten by the server's hello
  int server_pid = 0;             // for /proc CPU and RSS; 0 = not measured
  double max_run_s = 900;         // hard limit for the whole process
  std::uint64_t rng_seed = 1;
  // Reconnect backoff as the web SDK does it (web/src/sdk/backoff.ts, "equal jitter"): the n-th
  // consecutive retry waits uniformly in [d/2, d], d = min(max, base * 2^n). A crowd dropped at
  // once (kill -9) spreads over [base/2, base] instead of arriving in the same millisecond.
  // The ceiling is lower than the SDK's 30 s so a bounded run sees every client back.
  int backoff_base_ms = 500;
  int backoff_max_ms = 5000;
  bool subscribe_ephemeral = false;  // identify with subscribe: ["presence", "typing"]
  bool typing = false;            // each send is preceded by a `typing` start in its room
  std::string txn_prefix;         // unique per run so idempotency keys never collide across runs
};

// Counters for one load phase (latency keyed by the phase the message was sent in).
struct PhaseStats {
  std::atomic<std::uint64_t> sent{0}, acked{0}, deliveries{0}, send_errors{0}, skipped{0};
  std::atomic<std::int64_t> max_lag_us{0};  // how far the generator fell behind its schedule
  LatencyHistogram latency;
};

struct Counters {
  std::atomic<std::uint64_t> connects_ok{0}, connect_failures{0}, identify_failures{0};
  std::atomic<std::uint64_t> disconnects{0}, churn_drops{0}, resumes{0}, room_resets{0};
  std::atomic<std::uint64_t> gaps{0}, late{0}, duplicates{0}, unknown_room_events{0};
  std::atomic<std::uint64_t> decode_errors{0}, ack_before_echo{0}, unacked_at_disconnect{0};
  std::atomic<std::uint64_t> rate_limited{0}, final_closes{0}, missing_rooms{0};
  std::atomic<std::uint64_t> identified{0};  // sessions that reached `ready` at least once
  std::atomic<std::int64_t> connected{0};    // currently connected
  std::atomic<std::int64_t> outstanding{0};  // sends awaiting ack or error
  std::atomic<std::uint64_t> frames_in{0};
  // Ephemeral traffic (--subscribe-ephemeral, --typing): frames received and typing sent.
  std::atomic<std::uint64_t> typing_frames{0}, presence_frames{0}, typing_sent{0}, typing_refused{0};
  LatencyHistogram first_handshake;  // connect start -> ready, first connection
  LatencyHistogram resume_handshake; // connect start -> ready, reconnects (successful attempt)
  LatencyHistogram outage;           // disconnect noticed -> ready again
};

struct RunState {
  Options opt;
  Seed seed;
  std::unordered_map<std::string, int> room_index;  // room id -> index into seed.rooms
  std::unique_ptr<std::atomic<std::int64_t>[]> room_final_seq;  // highest seq seen or acked
  std::vector<std::unique_ptr<PhaseStats>> phases;
  Counters c;
  std::atomic<int> current_phase{0};

  void note_seq(int room, std::int64_t seq) {
    auto& a = room_final_seq[room];
    auto prev = a.load(std::memory_order_relaxed);
    while (seq > prev && !a.compare_exchange_weak(prev, seq, std::memory_order_relaxed)) {
    }
  }
};

}  // namespace parley::bench
