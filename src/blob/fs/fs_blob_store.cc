#include "blob/fs/fs_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

namespace parley::blob {

namespace fs = std::filesystem;
using core::Errc;
using core::make_error;

bool valid_key(std::string_view key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

namespace {

core::Error io_error(std::string what, int err) {
  return make_error(Errc::kUnavailable, "blob store: " + what + ": " + std::strerror(err));
}

core::Error bad_key() { return make_error(Errc::kInvalidArgument, "blob store: malformed key"); }

core::Status fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync " + path, err);
  return core::ok_status();
}

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  std::uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) s.push_back(kHex[v & 15]);
  return s;
}

class FdReader final : public BlobReader {
 public:
  FdReader(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~FdReader() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  core::Result<std::size_t> read(std::uint64_t offset, char* buf, std::size_t n) override {
    for (;;) {
      ssize_t got = ::pread(fd_, buf, n, static_cast<off_t>(offset));
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) return io_error("read", errno);
    }
  }

 private:
  int fd_;
  std::uint64_t size_;
};

}  // namespace

FsBlobStore::FsBlobStore(std::string root) : root_(std::move(root)), tmp_(root_ + "/tmp") {}

core::Result<std::unique_ptr<FsBlobStore>> FsBlobStore::create(std::string root) {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "tmp", ec);
  if (ec) {
    return make_error(Errc::kUnavailable,
                      "blob store: cannot create " + root + "/tmp: " + ec.message());
  }
  // What a crash left half-written: staged bodies and blobs that never got their name.
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::minutes(1);
  for (const auto& e : fs::directory_iterator(fs::path(root) / "tmp", ec)) {
    std::error_code ignored;
    if (e.is_regular_file(ignored) && e.last_write_time(ignored) < cutoff) {
      fs::remove(e.path(), ignored);
    }
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(std::move(root)));
}

std::string FsBlobStore::path_of(std::string_view key) const {
  std::string k(key);
  return root_ + "/" + k.substr(0, 2) + "/" + k.substr(2, 2) + "/" + k;
}

core::Status FsBlobStore::install(std::string_view key, const std::string& tmp_path) {
  const std::string dest = path_of(key);
  const std::string dir = fs::path(dest).parent_path().string();
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    // Same key, same bytes: keep the stored one.
    ::unlink(tmp_path.c_str());
    return core::ok_status();
  }
  bool created = !fs::exists(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    ::unlink(tmp_path.c_str());
    return io_error("create " + dir, ec.value());
  }
  if (auto st = fsync_path(tmp_path, false); !st) {
    ::unlink(tmp_path.c_str());
    return st;
  }
  if (::rename(tmp_path.c_str(), dest.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_path.c_str());
    return io_error("rename into " + dir, err);
  }
  if (auto st = fsync_path(dir, true); !st) return st;
  if (created) {
    // New fan-out directories must survive a crash too.
    std::string parent = fs::path(dir).parent_path().string();
    if (auto st = fsync_path(parent, true); !st) return st;
    if (auto st = fsync_path(root_, true); !st) return st;
  }
  return core::ok_status();
}

core::Status FsBlobStore::put_file(std::string_view key, const std::string& path) {
  if (!valid_key(key)) {
    ::unlink(path.c_str());
    return bad_key();
  }
  return install(key, path);
}

core::Status FsBlobStore::put_bytes(std::string_view key, std::string_view bytes) {
  if (!valid_key(key)) return bad_key();
  std::string tmp = tmp_ + "/put-" + random_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + tmp, errno);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("write " + tmp, err);
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return install(key, tmp);
}

core::Result<std::unique_ptr<BlobReader>> FsBlobStore::open(std::string_view key) {
  if (!valid_key(key)) return bad_key();
  std::string path = path_of(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::kNotFound, "blob not found");
    return io_error("open blob", errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_error("stat blob", err);
  }
  return std::unique_ptr<BlobReader>(new FdReader(fd, static_cast<std::uint64_t>(st.st_size)));
}

bool FsBlobStore::exists(std::string_view key) {
  if (!valid_key(key)) return false;
  std::error_code ec;
  return fs::exists(path_of(key), ec);
}

core::Status FsBlobStore::remove(std::string_view key) {
  if (!valid_key(key)) return bad_key();
  std::string path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("remove blob", errno);
  return core::ok_status();
}

core::Result<std::vector<std::string>> FsBlobStore::list(std::string_view after,
                                                          std::size_t limit) {
  // Walks the two fan-out levels in order, skipping whole directories below `after`.
  std::vector<std::string> out;
  std::error_code ec;
  auto sorted_dirs = [&](const fs::path& p) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(p, ec)) {
      std::string n = e.path().filename().string();
      if (n.size() == 2 && valid_key(n + std::string(62, '0')) && e.is_directory(ec)) {
        names.push_back(n);
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  std::string a(after);
  for (const std::string& d1 : sorted_dirs(root_)) {
    if (!a.empty() && d1 < a.substr(0, 2)) continue;
    for (const std::string& d2 : sorted_dirs(fs::path(root_) / d1)) {
      if (!a.empty() && d1 + d2 < a.substr(0, 4)) continue;
      std::vector<std::string> keys;
      for (const auto& e : fs::directory_iterator(fs::path(root_) / d1 / d2, ec)) {
        std::string k = e.path().filename().string();
        if (valid_key(k) && k > a) keys.push_back(std::move(k));
      }
      std::sort(keys.begin(), keys.end());
      for (auto& k : keys) {
        out.push_back(std::move(k));
        if (out.size() >= limit) return out;
      }
    }
  }
  return out;
}

}  // namespace parley::blob
