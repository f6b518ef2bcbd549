// bench/parley_bench.cc: `parley-bench`, the load generator for Parley's gateway.
//
// One process drives thousands of WebSocket clients on one io_context (1-2 threads): it ramps
// connect+identify at a fixed rate, then runs load phases of open-loop Poisson sends (each body
// carries its scheduled send time and a unique (sender, n) id), drains, and prints one JSON
// report on stdout: connections, connect rate, messages, deliveries expected and received,
// loss / duplicates / order violations, latency percentiles, the server's CPU and RSS from /proc
// and its commits per second from /metrics. Several processes can share one run (--shard i/n).
// Users, sessions and rooms come from `parley admin seed` (bench/README.md).
//
// Threading: main() parses options and loads the seed, then runs the io_context on --threads
// threads. The controller coroutine (ramp, phases, drain, report) runs on its own strand; each
// client on its own (client.h). Shared counters are atomics (run_state.h).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "client.h"
#include "probes.h"
#include "run_state.h"
#include "seed_file.h"

namespace parley::bench {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct PhaseMeasure {
  std::int64_t start_ns = 0, end_ns = 0;
  ProcSample proc_before, proc_after;
  std::optional<double> commits_before, commits_after;
  double rate_local = 0;
};

struct Outcome {
  std::int64_t ramp_start_ns = 0, connected_ns = 0;
  ProcSample proc_before_connect, proc_idle, proc_end;
  std::vector<PhaseMeasure> phases;
  std::int64_t load_start_ns = 0, drain_end_ns = 0;
  std::optional<double> commits_start, commits_end;
  double bench_cpu_start = 0, bench_cpu_end = 0;
  bool timed_out = false;
  std::string note;
};

class Controller {
 public:
  Controller(RunState& run, std::vector<std::unique_ptr<Client>>& clients, asio::io_context& ioc,
             tcp::endpoint server)
      : run_(run), clients_(clients), ioc_(ioc), server_(server), strand_(asio::make_strand(ioc)),
        rng_(run.opt.rng_seed) {
    // Rooms each class can send to: those with at least one member driven by this process.
    local_members_.resize(run.seed.rooms.size());
    for (auto& c : clients_) {
      for (int r : run.seed.users[c->user_index()].rooms) local_members_[r].push_back(c.get());
    }
    for (std::size_t r = 0; r < run.seed.rooms.size(); ++r) {
      if (local_members_[r].empty()) continue;
      by_class_[static_cast<int>(run.seed.rooms[r].cls)].push_back(static_cast<int>(r));
    }
  }

  auto& strand() { return strand_; }
  Outcome& outcome() { return out_; }

  asio::awaitable<void> main() {
    const auto& opt = run_.opt;
    asio::steady_timer timer(strand_);
    out_.proc_before_connect = read_proc(opt.server_pid);
    out_.bench_cpu_start = self_cpu_s();

    // Ramp: start connect+identify at ramp_per_s.
    out_.ramp_start_ns = now_ns();
    double interval_ns = 1e9 / std::max(1.0, opt.ramp_per_s);
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      auto due = out_.ramp_start_ns + static_cast<std::int64_t>(interval_ns * static_cast<double>(i));
      if (due > now_ns() + 1'000'000) co_await sleep_until(timer, due);
      Client* c = clients_[i].get();
      asio::co_spawn(c->strand(), c->run(), asio::detached);
    }
    auto target = static_cast<std::uint64_t>(clients_.size());
    auto deadline = now_ns() + static_cast<std::int64_t>(opt.connect_timeout_s * 1e9);
    while (run_.c.identified.load() + run_.c.final_closes.load() < target && now_ns() < deadline) {
      co_await sleep_for(timer, std::chrono::milliseconds(5));
    }
    out_.connected_ns = now_ns();
    if (run_.c.identified.load() < target) out_.note = "not every client identified in time";

    // Idle pause: what does an idle authenticated connection cost the server?
    co_await sleep_for(timer, std::chrono::milliseconds(static_cast<int>(opt.settle_s * 1000)));
    out_.proc_idle = read_proc(opt.server_pid);

    asio::co_spawn(strand_, heartbeats(), asio::detached);
    out_.load_start_ns = now_ns();
    out_.commits_start = co_await scrape_metric(server_, "parley_store_commits_total");
    for (std::size_t p = 0; p < opt.phases.size(); ++p) {
      PhaseMeasure m;
      m.proc_before = read_proc(opt.server_pid);
      m.commits_before = co_await scrape_metric(server_, "parley_store_commits_total");
      run_.current_phase = static_cast<int>(p);
      m.start_ns = now_ns();
      if (opt.reconnects_per_min > 0) {
        asio::co_spawn(strand_, churn(m.start_ns + seconds_ns(opt.phases[p].duration_s)),
                       asio::detached);
      }
      m.rate_local = opt.phases[p].rate / opt.shards;
      co_await send_phase(static_cast<int>(p), m.start_ns, opt.phases[p].duration_s, m.rate_local);
      m.end_ns = now_ns();
      m.proc_after = read_proc(opt.server_pid);
      m.commits_after = co_await scrape_metric(server_, "parley_store_commits_total");
      out_.phases.push_back(m);
    }

    // Drain: every send answered and no delivery for 1 s (or drain_s).
    auto drain_deadline = now_ns() + seconds_ns(opt.drain_s);
    std::uint64_t last_frames = run_.c.frames_in.load();
    std::int64_t quiet_since = now_ns();
    while (now_ns() < drain_deadline) {
      co_await sleep_for(timer, std::chrono::milliseconds(100));
      auto frames = run_.c.frames_in.load();
      if (frames != last_frames) {
        last_frames = frames;
        quiet_since = now_ns();
      }
      if (run_.c.outstanding.load() <= 0 && now_ns() - quiet_since > 1'000'000'000) break;
    }
    out_.drain_end_ns = now_ns();
    out_.proc_end = read_proc(opt.server_pid);
    out_.commits_end = co_await scrape_metric(server_, "parley_store_commits_total");
    out_.bench_cpu_end = self_cpu_s();

    stopping_ = true;
    for (auto& c : clients_) asio::post(c->strand(), [cl = c.get()] { cl->stop(); });
    auto close_deadline = now_ns() + 3'000'000'000LL;
    while (run_.c.connected.load() > 0 && now_ns() < close_deadline) {
      co_await sleep_for(timer, std::chrono::milliseconds(20));
    }
    ioc_.stop();
  }

 private:
  static std::int64_t seconds_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

  asio::awaitable<void> sleep_until(asio::steady_timer& t, std::int64_t due_ns) {
    t.expires_at(asio::steady_timer::time_point(std::chrono::nanoseconds(due_ns)));
    co_await t.async_wait(kUseTuple);
  }
  asio::awaitable<void> sleep_for(asio::steady_timer& t, std::chrono::nanoseconds d) {
    t.expires_after(d);
    co_await t.async_wait(kUseTuple);
  }

  // Open loop: Poisson arrivals at `rate` per second whatever the server's answers; a send
  // is stamped with its scheduled time, so generator lag counts against latency, not for it.
  asio::awaitable<void> send_phase(int phase, std::int64_t start_ns, double duration_s, double rate) {
    asio::steady_timer timer(strand_);
    auto& ps = *run_.phases[phase];
    if (rate <= 0) {
      co_await sleep_until(timer, start_ns + seconds_ns(duration_s));
      co_return;
    }
    std::exponential_distribution<double> gap(rate);
    const auto& mix = run_.opt;
    double weights[3] = {by_class_[0].empty() ? 0 : mix.mix_dm,
                         by_class_[1].empty() ? 0 : mix.mix_small,
                         by_class_[2].empty() ? 0 : mix.mix_large};
    if (weights[0] + weights[1] + weights[2] <= 0) {
      co_await sleep_until(timer, start_ns + seconds_ns(duration_s));
      co_return;
    }
    std::discrete_distribution<int> pick_class({weights[0], weights[1], weights[2]});
    std::int64_t end_ns = start_ns + seconds_ns(duration_s);
    double t = static_cast<double>(start_ns);
    for (;;) {
      t += gap(rng_) * 1e9;
      auto due = static_cast<std::int64_t>(t);
      if (due >= end_ns) break;
      if (due > now_ns() + 200'000) co_await sleep_until(timer, due);
      auto lag_us = (now_ns() - due) / 1000;
      if (lag_us > ps.max_lag_us.load(std::memory_order_relaxed)) ps.max_lag_us = lag_us;
      Client* sender = nullptr;
      int room = -1;
      for (int tries = 0; tries < 8 && !sender; ++tries) {
        const auto& rooms = by_class_[pick_class(rng_)];
        room = rooms[std::uniform_int_distribution<std::size_t>(0, rooms.size() - 1)(rng_)];
        const auto& members = local_members_[room];
        Client* c = members[std::uniform_int_distribution<std::size_t>(0, members.size() - 1)(rng_)];
        if (c->connected()) sender = c;
      }
      if (!sender) {
        ps.skipped.fetch_add(1);
        continue;
      }
      asio::post(sender->strand(), [sender, room, phase, due] {
        sender->send_message(room, phase, due);
      });
    }
    co_await sleep_until(timer, end_ns);
  }

  // Keeps idle sessions alive: a ping when nothing was written for a third of the heartbeat.
  asio::awaitable<void> heartbeats() {
    asio::steady_timer timer(strand_);
    const std::int64_t idle_ns = static_cast<std::int64_t>(run_.opt.heartbeat_ms) * 1'000'000 / 3;
    while (!stopping_) {
      co_await sleep_for(timer, std::chrono::seconds(1));
      auto now = now_ns();
      for (auto& c : clients_) {
        if (c->connected() && now - c->last_write_ns() > idle_ns) {
          asio::post(c->strand(), [cl = c.get()] { cl->send_ping(); });
        }
      }
    }
  }

  // Reconnect churn: random connected clients drop their connection and resume by seq.
  asio::awaitable<void> churn(std::int64_t until_ns) {
    asio::steady_timer timer(strand_);
    double rate = run_.opt.reconnects_per_min / 60.0 / run_.opt.shards;
    std::exponential_distribution<double> gap(rate);
    std::uniform_int_distribution<std::size_t> pick(0, clients_.size() - 1);
    double t = static_cast<double>(now_ns());
    while (!stopping_ && !clients_.empty()) {
      t += gap(rng_) * 1e9;
      if (t >= static_cast<double>(until_ns)) break;
      co_await sleep_until(timer, static_cast<std::int64_t>(t));
      Client* c = clients_[pick(rng_)].get();
      asio::post(c->strand(), [c] { c->drop(); });
    }
  }

  RunState& run_;
  std::vector<std::unique_ptr<Client>>& clients_;
  asio::io_context& ioc_;
  tcp::endpoint server_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::mt19937_64 rng_;
  std::vector<std::vector<Client*>> local_members_;
  std::vector<int> by_class_[3];
  bool stopping_ = false;
  Outcome out_;
};

json::object latency_json(const LatencyHistogram& h) {
  auto ms = [](std::int64_t us) { return static_cast<double>(us) / 1000.0; };
  return json::object{{"count", h.count()},
                      {"p50", ms(h.percentile_us(0.50))},
                      {"p90", ms(h.percentile_us(0.90))},
                      {"p99", ms(h.percentile_us(0.99))},
                      {"p999", ms(h.percentile_us(0.999))},
                      {"max", ms(h.max_us())}};
}

json::value opt_num(std::optional<double> v) { return v ? json::value(*v) : json::value(nullptr); }

json::object report(const RunState& run, const std::vector<std::unique_ptr<Client>>& clients,
                    const Outcome& o) {
  const auto& opt = run.opt;
  const auto& c = run.c;
  Client::Tally total;
  for (const auto& cl : clients) {
    auto t = cl->tally();
    total.expected += t.expected;
    total.received += t.received;
    total.lost += t.lost;
    total.skipped += t.skipped;
  }
  std::uint64_t sent = 0, acked = 0, send_errors = 0, skipped = 0, deliveries = 0;
  LatencyHistogram all;
  json::array phases;
  double server_cpu_load = 0;
  for (std::size_t p = 0; p < o.phases.size(); ++p) {
    const auto& m = o.phases[p];
    const auto& ps = *run.phases[p];
    sent += ps.sent;
    acked += ps.acked;
    send_errors += ps.send_errors;
    skipped += ps.skipped;
    deliveries += ps.deliveries;
    all.merge(ps.latency);
    double secs = static_cast<double>(m.end_ns - m.start_ns) / 1e9;
    json::object j{{"name", opt.phases[p].name},
                   {"duration_s", secs},
                   {"target_rate", opt.phases[p].rate},
                   {"sent", ps.sent.load()},
                   {"acked", ps.acked.load()},
                   {"send_errors", ps.send_errors.load()},
                   {"skipped", ps.skipped.load()},
                   {"deliveries", ps.deliveries.load()},
                   {"sent_per_s", static_cast<double>(ps.sent) / secs},
                   {"deliveries_per_s", static_cast<double>(ps.deliveries) / secs},
                   {"generator_max_lag_ms", static_cast<double>(ps.max_lag_us) / 1000.0},
                   {"latency_ms", latency_json(ps.latency)}};
    if (m.proc_before.ok && m.proc_after.ok) {
      double cpu = m.proc_after.cpu_s - m.proc_before.cpu_s;
      server_cpu_load += cpu;
      j["server_cpu_s"] = cpu;
      j["server_cpu_util"] = cpu / secs;
      j["deliveries_per_server_cpu_s"] = cpu > 0 ? static_cast<double>(ps.deliveries) / cpu : 0.0;
      j["server_rss_kib"] = m.proc_after.rss_kib;
    }
    if (m.commits_before && m.commits_after) {
      j["commits_per_s"] = (*m.commits_after - *m.commits_before) / secs;
    }
    phases.push_back(std::move(j));
  }
  // A run cut short by --max-run leaves later timestamps unset (0).
  double ramp_s = o.connected_ns ? static_cast<double>(o.connected_ns - o.ramp_start_ns) / 1e9 : 0;
  double load_s = o.drain_end_ns ? static_cast<double>(o.drain_end_ns - o.load_start_ns) / 1e9 : 0;
  json::object conn{{"target", clients.size()},
                    {"identified", c.identified.load()},
                    {"connect_failures", c.connect_failures.load()},
                    {"identify_failures", c.identify_failures.load()},
                    {"final_closes", c.final_closes.load()},
                    {"ramp_s", ramp_s},
                    {"ramp_target_per_s", opt.ramp_per_s},
                    {"connect_identify_per_s", ramp_s > 0 ? c.identified.load() / ramp_s : 0.0},
                    {"handshake_ms", latency_json(c.first_handshake)},
                    {"source_addrs", opt.source_addrs}};
  json::object checks{{"expected", total.expected},
                      {"received", total.received},
                      {"lost", total.lost},
                      {"duplicates", c.duplicates.load()},
                      {"order_violations", c.late.load()},
                      {"gaps_seen", c.gaps.load()},
                      {"given_up_by_room_reset", total.skipped},
                      {"ack_before_echo", c.ack_before_echo.load()},
                      {"unknown_room_events", c.unknown_room_events.load()},
                      {"rooms_missing_from_ready", c.missing_rooms.load()},
                      {"decode_errors", c.decode_errors.load()}};
  json::object msgs{{"sent", sent},
                    {"acked", acked},
                    {"send_errors", send_errors},
                    {"rate_limited", c.rate_limited.load()},
                    {"skipped", skipped},
                    {"unacked_at_disconnect", c.unacked_at_disconnect.load()}};
  json::object recon{{"churn_drops", c.churn_drops.load()},
                     {"unexpected_disconnects", c.disconnects.load()},
                     {"resumes", c.resumes.load()},
                     {"room_resets", c.room_resets.load()},
                     {"resume_handshake_ms", latency_json(c.resume_handshake)},
                     {"outage_ms", latency_json(c.outage)}};
  json::object server{{"pid", opt.server_pid}};
  if (o.proc_end.ok) {
    double cpu = o.proc_end.cpu_s - (o.phases.empty() ? o.proc_end.cpu_s : o.phases.front().proc_before.cpu_s);
    server["cpu_s"] = cpu;
    server["deliveries_per_cpu_s"] = cpu > 0 ? static_cast<double>(deliveries) / cpu : 0.0;
    server["peak_rss_kib"] = o.proc_end.peak_rss_kib;
    server["rss_end_kib"] = o.proc_end.rss_kib;
  }
  if (o.proc_before_connect.ok && o.proc_idle.ok) {
    server["rss_before_connect_kib"] = o.proc_before_connect.rss_kib;
    server["rss_idle_connected_kib"] = o.proc_idle.rss_kib;
    auto n = c.identified.load();
    server["rss_per_idle_connection_kib"] =
        n > 0 ? static_cast<double>(o.proc_idle.rss_kib - o.proc_before_connect.rss_kib) / n : 0.0;
  }
  server["commits_per_s"] = (o.commits_start && o.commits_end && load_s > 0)
                                ? json::value((*o.commits_end - *o.commits_start) / load_s)
                                : json::value(nullptr);
  server["commits_total_end"] = opt_num(o.commits_end);
  (void)server_cpu_load;

  bool ok = !o.timed_out && c.identified.load() == clients.size() && total.lost == 0 &&
            c.duplicates.load() == 0 && c.late.load() == 0 && total.received == total.expected &&
            send_errors == 0 && sent > 0 && acked + c.unacked_at_disconnect.load() == sent &&
            c.decode_errors.load() == 0 && c.unknown_room_events.load() == 0;
  json::object r{{"tool", "parley-bench"},
                 {"ok", ok},
                 {"shard", std::to_string(opt.shard) + "/" + std::to_string(opt.shards)},
                 {"server_address", opt.host + ":" + std::to_string(opt.port)},
                 {"threads", opt.threads},
                 {"body_bytes", opt.body_bytes},
                 {"mix_percent", json::object{{"dm", opt.mix_dm}, {"small_group", opt.mix_small},
                                              {"large_group", opt.mix_large}}},
                 {"connections", std::move(conn)},
                 {"messages", std::move(msgs)},
                 {"deliveries", std::move(checks)},
                 {"deliveries_per_s", load_s > 0 ? static_cast<double>(deliveries) / load_s : 0.0},
                 {"latency_ms", latency_json(all)},
                 {"phases", std::move(phases)},
                 {"reconnects", std::move(recon)},
                 {"server", std::move(server)},
                 {"ephemeral", json::object{{"subscribed", opt.subscribe_ephemeral},
                                            {"typing", opt.typing},
                                            {"typing_sent", c.typing_sent.load()},
                                            {"typing_refused", c.typing_refused.load()},
                                            {"typing_frames", c.typing_frames.load()},
                                            {"presence_frames", c.presence_frames.load()},
                                            {"frames_in", c.frames_in.load()}}},
                 {"bench_cpu_s", o.bench_cpu_end - o.bench_cpu_start}};
  if (o.timed_out) r["error"] = "max_run_s exceeded";
  if (!o.note.empty()) r["note"] = o.note;
  return r;
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

bool parse_phase(const std::string& s, Options::Phase& p) {
  // name:duration_s:rate
  auto a = s.find(':');
  auto b = s.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  try {
    p.name = s.substr(0, a);
    p.duration_s = std::stod(s.substr(a + 1, b - a - 1));
    p.rate = std::stod(s.substr(b + 1));
  } catch (const std::exception&) {
    return false;
  }
  return p.duration_s > 0 && p.rate >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::string shard = "0/1", mix = "60,35,5";
  std::vector<std::string> phase_specs;
  double duration = 10, rate = 100;
  CLI::App app{"parley-bench: load generator for Parley's gateway (bench/README.md)"};
  app.add_option("--seed", opt.seed_file, "Output of `parley admin seed --out`")->required();
  app.add_option("--host", opt.host, "Server address");
  app.add_option("--port", opt.port, "Server port")->required();
  app.add_option("--shard", shard, "i/n: drive users with index % n == i");
  app.add_option("--connections", opt.max_connections, "Most users to drive (0 = all of the shard)");
  app.add_option("--ramp", opt.ramp_per_s, "Connect+identify starts per second (this process)");
  app.add_option("--threads", opt.threads, "io_context threads (1-2)")->check(CLI::Range(1, 8));
  app.add_option("--source-addrs", opt.source_addrs, "Bind to 127.0.0.2..(1+n); 0 = don't bind");
  app.add_option("--phase", phase_specs, "name:duration_s:rate (repeat; overrides --duration/--rate)");
  app.add_option("--duration", duration, "Seconds of load (single phase)");
  app.add_option("--rate", rate, "Messages per second, all shards together (single phase)");
  app.add_option("--mix", mix, "Percent of sends to DM,small group,large group rooms");
  app.add_option("--large-threshold", opt.large_threshold, "Groups above this size are large");
  app.add_option("--body-bytes", opt.body_bytes, "Message body size");
  app.add_option("--reconnects-per-min", opt.reconnects_per_min, "Churn: drops+resumes per minute");
  app.add_option("--connect-timeout", opt.connect_timeout_s, "Seconds to wait for all identified");
  app.add_option("--settle", opt.settle_s, "Idle seconds after the ramp (RSS per connection)");
  app.add_option("--drain", opt.drain_s, "Most seconds to wait for acks and deliveries at the end");
  app.add_option("--max-pending", opt.max_pending_per_client, "Unacked sends per client");
  app.add_option("--server-pid", opt.server_pid, "Server pid for /proc CPU and RSS");
  app.add_option("--max-run", opt.max_run_s, "Hard limit on the whole run, seconds");
  app.add_option("--rng-seed", opt.rng_seed, "Random seed");
  app.add_option("--backoff-base-ms", opt.backoff_base_ms,
                 "First reconnect delay ceiling (equal jitter: [d/2, d], doubling)")
      ->check(CLI::Range(1, 60000));
  app.add_option("--backoff-max-ms", opt.backoff_max_ms, "Reconnect delay ceiling")
      ->check(CLI::Range(1, 600000));
  app.add_flag("--subscribe-ephemeral", opt.subscribe_ephemeral,
               "Identify with subscribe [presence, typing] (as the web client does)");
  app.add_flag("--typing", opt.typing, "Send a typing start before each message");
  CLI11_PARSE(app, argc, argv);

  if (std::sscanf(shard.c_str(), "%d/%d", &opt.shard, &opt.shards) != 2 || opt.shards < 1 ||
      opt.shard < 0 || opt.shard >= opt.shards) {
    std::cerr << "parley-bench: --shard must be i/n with 0 <= i < n\n";
    return 2;
  }
  if (std::sscanf(mix.c_str(), "%lf,%lf,%lf", &opt.mix_dm, &opt.mix_small, &opt.mix_large) != 3) {
    std::cerr << "parley-bench: --mix must be three numbers, e.g. 60,35,5\n";
    return 2;
  }
  if (phase_specs.empty()) {
    opt.phases.push_back(Options::Phase{"steady", duration, rate});
  } else {
    for (const auto& s : phase_specs) {
      Options::Phase p;
      if (!parse_phase(s, p)) {
        std::cerr << "parley-bench: --phase must be name:duration_s:rate, got " << s << "\n";
        return 2;
      }
      opt.phases.push_back(p);
    }
  }
  std::random_device rd;
  opt.txn_prefix = "t" + std::to_string(rd() % 1000000000) + "-" + std::to_string(opt.shard) + "-";

  raise_fd_limit();
  RunState run;
  run.opt = opt;
  try {
    run.seed = load_seed(opt.seed_file, opt.large_threshold);
  } catch (const std::exception& e) {
    std::cerr << "parley-bench: " << e.what() << "\n";
    return 2;
  }
  for (std::size_t r = 0; r < run.seed.rooms.size(); ++r) {
    run.room_index.emplace(run.seed.rooms[r].id, static_cast<int>(r));
  }
  run.room_final_seq = std::make_unique<std::atomic<std::int64_t>[]>(run.seed.rooms.size());
  for (std::size_t p = 0; p < opt.phases.size(); ++p) run.phases.push_back(std::make_unique<PhaseStats>());

  boost::system::error_code ec;
  auto addr = asio::ip::make_address_v4(opt.host, ec);
  if (ec) {
    std::cerr << "parley-bench: --host must be an IPv4 address\n";
    return 2;
  }
  tcp::endpoint server(addr, static_cast<unsigned short>(opt.port));

  asio::io_context ioc(opt.threads);
  std::vector<std::unique_ptr<Client>> clients;
  int k = 0;
  for (std::size_t u = 0; u < run.seed.users.size(); ++u) {
    if (static_cast<int>(u % opt.shards) != opt.shard) continue;
    if (opt.max_connections > 0 && static_cast<int>(clients.size()) >= opt.max_connections) break;
    asio::ip::address_v4 source;  // unspecified: let the kernel choose
    if (opt.source_addrs > 0) source = asio::ip::address_v4((127u << 24) + 2 + (k++ % opt.source_addrs));
    clients.push_back(std::make_unique<Client>(run, static_cast<int>(u), server, source, ioc));
  }

  Controller ctl(run, clients, ioc, server);
  asio::co_spawn(ctl.strand(), ctl.main(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  // Bounded: whatever happens, the process ends after max_run_s.
  asio::steady_timer watchdog(ioc, std::chrono::milliseconds(static_cast<long>(opt.max_run_s * 1000)));
  watchdog.async_wait([&](boost::system::error_code e) {
    if (e) return;
    ctl.outcome().timed_out = true;
    ioc.stop();
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < opt.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();

  auto r = report(run, clients, ctl.outcome());
  std::cout << json::serialize(r) << std::endl;
  // Thousands of sockets and suspended coroutines are left to the OS: tearing them down one by
  // one measures nothing and only delays the next step of a ladder.
  std::fflush(stdout);
  std::_Exit(r["ok"].as_bool() ? 0 : 1);
}

}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::main(argc, argv); }
