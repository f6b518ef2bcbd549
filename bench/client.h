// bench/client.h: one simulated user of parley-bench: a WebSocket gateway session that
// connects (from a chosen source address), identifies with its token, resumes by seq after a
// drop, sends paced messages on request and checks every event it receives (seq order, loss,
// duplicates, end-to-end latency from the send time embedded in the body).
//
// Threading: each Client lives on its own strand of the shared io_context. run() is spawned
// once on that strand; every other member function must be called on the strand too (post to
// strand()). connected() may be read from any thread. The Client must outlive the io_context
// run (RunState owns nothing of it; main owns the clients).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "run_state.h"
#include "stats.h"

namespace parley::bench {

class Client {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Client(RunState& run, int user_index, boost::asio::ip::tcp::endpoint server,
         boost::asio::ip::address_v4 source, boost::asio::io_context& ioc);
  ~Client();

  Strand& strand() { return strand_; }
  int user_index() const { return user_; }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  std::int64_t last_write_ns() const { return last_write_ns_.load(std::memory_order_relaxed); }

  // Connects, identifies and reads until stop(); reconnects (and resumes) after drops with
  // jittered backoff. Returns when stopped or after a final close code (4004, 45xx).
  boost::asio::awaitable<void> run();
  // Sends one message to seed room `room` (the user must be a member), timestamped with the
  // scheduled send time. Skipped (and counted) when not connected or too many are pending.
  void send_message(int room, int phase, std::int64_t scheduled_ns);
  void send_ping();
  // Drops the connection abruptly (simulated network loss); run() reconnects and resumes.
  void drop();
  // Closes with 1000 and makes run() return.
  void stop();

  // After the run: loss accounting against the rooms' final seqs.
  struct Tally {
    std::int64_t expected = 0, received = 0, lost = 0, skipped = 0;
  };
  Tally tally() const;

 private:
  struct Ws;
  struct Pending {
    std::int64_t send_ns = 0;
    int phase = 0;
    bool echoed = false;
  };
  struct RoomView {
    int room;
    SeqTracker seq;
  };

  boost::asio::awaitable<bool> connect_once(bool resuming);
  boost::asio::awaitable<void> read_loop(std::shared_ptr<Ws> ws);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<Ws> ws);
  void enqueue(std::string frame);
  void on_frame(std::string_view text);
  bool on_ready(std::string_view text);
  RoomView* view(int room);
  std::string identify_frame(bool resuming) const;

  RunState& run_;
  const int user_;
  boost::asio::ip::tcp::endpoint server_;
  boost::asio::ip::address_v4 source_;
  Strand strand_;
  std::shared_ptr<Ws> ws_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool stopping_ = false;
  bool dropping_ = false;
  bool final_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<std::int64_t> last_write_ns_{0};
  bool have_views_ = false;
  std::vector<RoomView> views_;
  std::string epoch_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::uint64_t next_n_ = 0;
  int heartbeat_ms_ = 30000;
  std::minstd_rand rng_;
  std::optional<boost::asio::steady_timer> backoff_;
};

}  // namespace parley::bench
