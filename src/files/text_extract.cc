#include "files/text_extract.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace parley::files {

using core::Errc;
using core::make_error;

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The valid UTF-8 sequence at s[i] (its length and code point), or length 0.
std::size_t utf8_at(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t len;
  char32_t min;
  if (b < 0x80) {
    cp = b;
    return 1;
  } else if (b >= 0xC2 && b <= 0xDF) {
    len = 2, cp = b & 0x1F, min = 0x80;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3, cp = b & 0x0F, min = 0x800;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4, cp = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool blank(char32_t cp) {
  if (cp == '\n' || cp == '\t') return false;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;    // C0, DEL, C1 controls
  if (cp >= 0x202A && cp <= 0x202E) return true;                // bidi embeddings, overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true;                // bidi isolates
  return cp == 0xFEFF || cp == 0xFFFD;                          // BOM, replacement character
}

// Reads up to `max` bytes of the blob.
core::Result<std::string> read_prefix(blob::BlobReader& reader, std::size_t max) {
  std::string out;
  out.resize(std::min<std::uint64_t>(max, reader.size()));
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = reader.read(got, out.data() + got, out.size() - got);
    if (!n) return n.take_error();
    if (*n == 0) break;
    got += *n;
  }
  out.resize(got);
  return out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Runs pdftotext on the blob: bytes in on stdin (a socket, so that a child that stops reading
// cannot raise SIGPIPE here), text out on stdout, stderr to /dev/null.
core::Result<std::string> run_pdftotext(blob::BlobReader& reader, const TextExtractLimits& lim) {
  int in_pair[2], out_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    return make_error(Errc::kUnavailable, "pdftotext: cannot create a socket pair");
  }
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return make_error(Errc::kUnavailable, "pdftotext: cannot create a pipe");
  }
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));

  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  const std::string& path = lim.pdftotext;
  const char* argv[] = {path.c_str(), "-q", "-enc", "UTF-8", "-nopgbrk", "-", "-", nullptr};
  const char* envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", nullptr};
  const rlim_t cpu_s = static_cast<rlim_t>(lim.timeout_ms / 1000 + 1);
  const rlim_t as = static_cast<rlim_t>(lim.memory_bytes);

  pid_t pid = ::fork();
  if (pid < 0) return make_error(Errc::kUnavailable, "pdftotext: cannot fork");
  if (pid == 0) {
    ::dup2(in_child.get(), 0);
    ::dup2(out_child.get(), 1);
    ::dup2(devnull.get() >= 0 ? devnull.get() : out_child.get(), 2);
    ::close_range(3, ~0U, 0);
    struct rlimit r;
    r = {as, as};
    ::setrlimit(RLIMIT_AS, &r);
    r = {cpu_s, cpu_s};
    ::setrlimit(RLIMIT_CPU, &r);
    r = {0, 0};
    ::setrlimit(RLIMIT_FSIZE, &r);
    ::setrlimit(RLIMIT_CORE, &r);
    ::setpgid(0, 0);
    ::execve(path.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    ::_exit(127);
  }
  in_child.reset();
  out_child.reset();
  ::fcntl(in_parent.get(), F_SETFL, ::fcntl(in_parent.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(out_parent.get(), F_SETFL, ::fcntl(out_parent.get(), F_GETFL) | O_NONBLOCK);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(lim.timeout_ms);
  const std::size_t keep = lim.max_text_bytes + 4;  // a little more: cut at a whole character
  std::string text, chunk;
  std::uint64_t sent = 0;
  const std::uint64_t size = reader.size();
  std::size_t chunk_at = 0;
  bool timed_out = false, enough = false, read_failed = false;
  if (size == 0) in_parent.reset();
  while (out_parent.get() >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    fds[n++] = {out_parent.get(), POLLIN, 0};
    if (in_parent.get() >= 0) fds[n++] = {in_parent.get(), POLLOUT, 0};
    int rc = ::poll(fds, n, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (n > 1 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      if (chunk_at == chunk.size()) {
        chunk.resize(64 * 1024);
        auto got = reader.read(sent, chunk.data(), chunk.size());
        if (!got) {
          read_failed = true;
          break;
        }
        chunk.resize(*got);
        chunk_at = 0;
      }
      ssize_t w = chunk.empty() ? 0
                                : ::send(in_parent.get(), chunk.data() + chunk_at,
                                         chunk.size() - chunk_at, MSG_NOSIGNAL);
      if (w > 0) {
        chunk_at += static_cast<std::size_t>(w);
        sent += static_cast<std::uint64_t>(w);
      }
      if (chunk.empty() || sent >= size || (w < 0 && errno != EAGAIN && errno != EINTR)) {
        in_parent.reset();  // all sent (or the child stopped reading): EOF for it
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[16 * 1024];
      ssize_t r = ::read(out_parent.get(), buf, sizeof buf);
      if (r > 0) {
        text.append(buf, static_cast<std::size_t>(std::min<ssize_t>(r, keep - text.size())));
        if (text.size() >= keep) {
          enough = true;
          break;
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_parent.reset();  // EOF: the child is done
      }
    }
  }
  in_parent.reset();
  out_parent.reset();
  // Reap: a child still running after its stdout closed gets until the deadline.
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (timed_out || enough || read_failed || Clock::now() >= deadline) {
      if (!enough && !read_failed) timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(2000);
  }
  if (read_failed) return make_error(Errc::kUnavailable, "pdftotext: cannot read the blob");
  if (enough) return text;
  if (timed_out) {
    return make_error(Errc::kUnavailable,
                      "pdftotext: timed out after " + std::to_string(lim.timeout_ms) + " ms");
  }
  if (WIFSIGNALED(status)) {
    return make_error(Errc::kUnavailable,
                      "pdftotext: killed by signal " + std::to_string(WTERMSIG(status)) +
                          " (a resource limit)");
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 127) return make_error(Errc::kUnavailable, "pdftotext: cannot run " + path);
  // A damaged file may still give some text before the error: keep what came.
  if (code != 0 && text.empty()) {
    return make_error(Errc::kInvalidArgument,
                      "pdftotext: refused the file (exit " + std::to_string(code) + ")");
  }
  return text;
}

}  // namespace

std::vector<std::string> text_types(const TextExtractLimits& limits) {
  std::vector<std::string> out{"text/*", "application/json"};
  if (!limits.pdftotext.empty()) out.push_back("application/pdf");
  return out;
}

bool has_text(std::string_view mime, const TextExtractLimits& limits) {
  if (starts_with(mime, "text/") || mime == "application/json") return true;
  return mime == "application/pdf" && !limits.pdftotext.empty();
}

std::string clean_index_text(std::string_view raw, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes));
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp;
    std::size_t len = utf8_at(raw, i, cp);
    if (len == 0) {
      cp = static_cast<unsigned char>(raw[i]);  // not UTF-8: read the byte as Latin-1
      len = 1;
    }
    i += len;
    if (blank(cp)) cp = ' ';
    const std::size_t before = out.size();
    append_utf8(out, cp);
    if (out.size() > max_bytes) {
      out.resize(before);
      break;
    }
  }
  return out;
}

core::Result<std::string> extract_text(blob::BlobReader& reader, std::string_view mime,
                                       const TextExtractLimits& limits) {
  if (!has_text(mime, limits)) {
    return make_error(Errc::kUnsupportedType, "no text to extract from " + std::string(mime));
  }
  if (static_cast<std::int64_t>(reader.size()) > limits.max_file_bytes) {
    return make_error(Errc::kTooLarge, "file over the text extraction limit");
  }
  if (mime == "application/pdf") {
    auto text = run_pdftotext(reader, limits);
    if (!text) return text.take_error();
    return clean_index_text(*text, limits.max_text_bytes);
  }
  // Text: the first bytes are enough (a few more than kept: invalid bytes grow as Latin-1).
  auto raw = read_prefix(reader, limits.max_text_bytes + 4);
  if (!raw) return raw.take_error();
  return clean_index_text(*raw, limits.max_text_bytes);
}

}  // namespace parley::files
