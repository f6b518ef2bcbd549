// bench/probes.cc: see probes.h.
#include "probes.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace parley::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

ProcSample read_proc(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  s.cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(base + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
  }
  s.ok = true;
  return s;
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::optional<double> find_metric(std::string_view page, std::string_view name) {
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < page.size()) {
    auto eol = page.find('\n', pos);
    if (eol == std::string_view::npos) eol = page.size();
    std::string_view line = page.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.size() <= name.size() || line.substr(0, name.size()) != name) continue;
    char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    std::string value(line.substr(sp + 1));
    sum = sum.value_or(0) + std::strtod(value.c_str(), nullptr);
  }
  return sum;
}

asio::awaitable<std::optional<double>> scrape_metric(asio::ip::tcp::endpoint server,
                                                     std::string name) {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(std::chrono::seconds(5));
  auto [cec] = co_await stream.async_connect(server, kTuple);
  if (cec) co_return std::nullopt;
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::host, server.address().to_string());
  req.set(http::field::connection, "close");
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return std::nullopt;
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  auto [rec, rn] = co_await http::async_read(stream, buf, res, kTuple);
  if (rec || res.result() != http::status::ok) co_return std::nullopt;
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  co_return find_metric(res.body(), name);
}

}  // namespace parley::bench
