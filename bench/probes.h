// bench/probes.h: what parley-bench reads about the server from outside: CPU time and memory
// from /proc/<pid>, and counters scraped from GET /metrics.
//
// Threading: read_proc is a plain blocking read of two small /proc files (fast; fine on the
// controller). scrape_metric is an Asio coroutine with a 5 s deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

struct ProcSample {
  bool ok = false;
  double cpu_s = 0;      // utime + stime
  long rss_kib = 0;      // VmRSS
  long peak_rss_kib = 0; // VmHWM
};

ProcSample read_proc(int pid);
// This process's own CPU seconds (user + system).
double self_cpu_s();

// Sums every sample of `name` (any labels) in a Prometheus text page. nullopt if absent.
std::optional<double> find_metric(std::string_view page, std::string_view name);

// GET /metrics from `server` and find_metric(name); nullopt on any failure.
boost::asio::awaitable<std::optional<double>> scrape_metric(boost::asio::ip::tcp::endpoint server,
                                                            std::string name);

}  // namespace parley::bench
