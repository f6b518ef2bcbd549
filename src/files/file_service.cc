#include "files/file_service.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <cstdio>
#include <future>
#include <set>

#include "files/file_name.h"
#include "files/media.h"
#include "ops/log.h"

namespace parley::files {

using core::Errc;
using core::make_error;

namespace {

constexpr int kSweepBatch = 1000;
constexpr int kTextBatch = 16;
constexpr std::size_t kBlobPage = 500;
// How long one append (copy + fsync of a chunk) or one completion (hash, type, images, blob
// put) may hold an upload. A node that dies while holding it blocks the upload this long.
constexpr std::int64_t kLeaseMs = 10 * 60 * 1000;

core::Error io_error(const std::string& what, int err) {
  return make_error(Errc::kUnavailable, "upload: " + what + ": " + std::strerror(err));
}

core::Status fsync_fd(int fd, const char* what) {
  if (::fsync(fd) != 0) return io_error(what, errno);
  return core::ok_status();
}

core::Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open the parts directory", errno);
  auto st = fsync_fd(fd, "fsync the parts directory");
  ::close(fd);
  return st;
}

// Copies `length` bytes of `from` (from its start) to `to` at `offset`.
core::Status copy_range(int from, int to, std::int64_t offset, std::int64_t length) {
  loff_t in = 0;
  loff_t out = offset;
  std::int64_t left = length;
  while (left > 0) {
    ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<std::size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      break;  // fall back to read/write below
    }
    if (n < 0) return io_error("append a chunk", errno);
    if (n == 0) return make_error(Errc::kInternal, "upload: the staged chunk is shorter than it was");
    left -= n;
  }
  std::string buf;
  while (left > 0) {
    if (buf.empty()) buf.resize(256 * 1024);
    ssize_t n = ::pread(from, buf.data(), std::min<std::int64_t>(left, static_cast<std::int64_t>(buf.size())), in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("read a chunk", errno);
    if (n == 0) return make_error(Errc::kInternal, "upload: the staged chunk is shorter than it was");
    ssize_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(to, buf.data() + done, static_cast<std::size_t>(n - done), out);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return io_error("append a chunk", errno);
      done += w;
      out += w;
    }
    in += n;
    left -= n;
  }
  return core::ok_status();
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(kHex[p[i] >> 4]);
    s.push_back(kHex[p[i] & 15]);
  }
  return s;
}

std::string sha256_bytes(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

core::Result<std::string> sha256_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return make_error(Errc::kInternal, "upload: staged file is gone");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buf(256 * 1024, '\0');
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) EVP_DigestUpdate(ctx, buf.data(), n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (failed) return make_error(Errc::kInternal, "upload: cannot read the staged file");
  return hex(md, len);
}

// Waits for an asynchronous store call (sweeper thread only).
template <class T, class Start>
core::Result<T> wait_for(Start&& start) {
  std::promise<core::Result<T>> p;
  auto f = p.get_future();
  start([&p](core::Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace

FileService::FileService(Deps deps, ops::FilesConfig config)
    : deps_(deps),
      config_(std::move(config)),
      uploads_ok_(deps.metrics.counter("parley_uploads_total", "Uploads by result",
                                       "result=\"stored\"")),
      uploads_refused_(deps.metrics.counter("parley_uploads_total", "Uploads by result",
                                            "result=\"refused\"")),
      blobs_swept_(deps.metrics.counter("parley_blobs_swept_total",
                                        "Blobs deleted because no attachment refers to them")),
      unsent_swept_(deps.metrics.counter("parley_unsent_attachments_swept_total",
                                         "Uploads deleted because they were never sent")),
      chunks_ok_(deps.metrics.counter("parley_upload_chunks_total",
                                      "Resumable upload chunks by result", "result=\"stored\"")),
      chunks_refused_(deps.metrics.counter("parley_upload_chunks_total",
                                           "Resumable upload chunks by result",
                                           "result=\"refused\"")),
      texts_extracted_(deps.metrics.counter("parley_file_texts_total",
                                            "Files whose text was extracted for search, by result",
                                            "result=\"extracted\"")),
      texts_failed_(deps.metrics.counter("parley_file_texts_total",
                                         "Files whose text was extracted for search, by result",
                                         "result=\"failed\"")),
      text_limits_{.max_text_bytes = static_cast<std::size_t>(config_.text_index_bytes),
                   .max_file_bytes = config_.text_max_file_bytes,
                   .timeout_ms = config_.text_timeout_ms,
                   .memory_bytes = config_.text_memory_bytes,
                   .pdftotext = config_.pdftotext},
      workers_(std::make_unique<WorkerPool>(config_.workers,
                                            static_cast<std::size_t>(config_.max_queue))),
      extractor_(std::make_unique<WorkerPool>(1, 1)) {
  sweeper_ = std::thread([this] { sweeper_loop(); });
  index_file_texts();  // whatever a restart interrupted
}

FileService::~FileService() { shutdown(); }

void FileService::shutdown() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  workers_->shutdown();
  extractor_->shutdown();  // the file being extracted finishes (bounded by its timeout)
}

bool FileService::stopping() {
  std::lock_guard lock(stop_mu_);
  return stopping_;
}

void FileService::index_file_texts() {
  if (text_limits_.max_text_bytes == 0) return;  // file names only
  {
    std::lock_guard lock(extract_mu_);
    if (extract_running_) {
      extract_again_ = true;
      return;
    }
    extract_running_ = true;
  }
  if (!extractor_->try_post([this] { extract_texts(); })) {
    std::lock_guard lock(extract_mu_);
    extract_running_ = false;  // stopping
  }
}

void FileService::extract_texts() {
  const std::vector<std::string> types = text_types(text_limits_);
  for (;;) {
    bool failed = false;
    while (!failed && !stopping()) {
      auto batch = wait_for<std::vector<core::Attachment>>([&](auto cb) {
        deps_.store.blobs_needing_text(types, kTextBatch, std::move(cb));
      });
      if (!batch) {
        ops::log_warn("files: listing files to index failed", {{"error", batch.error().message}});
        break;
      }
      if (batch->empty()) break;
      for (const core::Attachment& a : *batch) {
        if (stopping()) break;
        store::BlobText t = text_of(a);
        auto r = wait_for<std::int64_t>(
            [&](auto cb) { deps_.store.set_blob_text(std::move(t), std::move(cb)); });
        if (!r) {
          ops::log_warn("files: storing a file's text failed", {{"error", r.error().message}});
          failed = true;
          break;
        }
      }
    }
    std::lock_guard lock(extract_mu_);
    if (extract_again_ && !failed && !stopping()) {
      extract_again_ = false;
      continue;
    }
    extract_running_ = extract_again_ = false;
    return;
  }
}

store::BlobText FileService::text_of(const core::Attachment& a) {
  store::BlobText t;
  t.sha256 = a.sha256;
  t.extracted_at = deps_.clock.now_ms();
  core::Result<std::string> text = make_error(Errc::kInternal, "");
  auto reader = deps_.blobs.open(a.sha256);
  if (reader) {
    text = extract_text(**reader, a.mime, text_limits_);
  } else {
    text = reader.take_error();
  }
  if (text) {
    t.text = std::move(*text);
    t.status = store::BlobTextStatus::kExtracted;
    texts_extracted_.inc();
  } else {
    // Found by its name only. The reason is logged; never the file's name or contents.
    t.status = store::BlobTextStatus::kFailed;
    texts_failed_.inc();
    ops::log_info("files: no text for search", {{"attachment", std::to_string(a.id)},
                                                {"mime", a.mime},
                                                {"error", text.error().message}});
  }
  return t;
}

void FileService::upload(const auth::Actor& who, std::string raw_name, std::string path,
                         Callback<core::Attachment> done) {
  auto refuse = [this, &path, &done](core::Error e) {
    ::unlink(path.c_str());
    uploads_refused_.inc();
    done(std::move(e));
  };
  auto name = sanitize_file_name(raw_name);
  if (!name) return refuse(name.take_error());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return refuse(make_error(Errc::kInternal, "upload: staged file is gone"));
  }
  const std::int64_t size = st.st_size;
  if (size == 0) return refuse(make_error(Errc::kInvalidArgument, "file: empty (0 bytes)"));
  if (size > config_.max_upload_bytes) {
    return refuse(make_error(Errc::kTooLarge, "file: over the " +
                                                  std::to_string(config_.max_upload_bytes) +
                                                  " byte limit"));
  }
  // A cheap early quota check spares the workers; the storing transaction checks again.
  deps_.store.storage_used(
      who.user_id, [this, who, name = std::move(*name), path = std::move(path), size,
                    done = std::move(done)](core::Result<std::int64_t> used) mutable {
        auto refuse_now = [&](core::Error e) {
          ::unlink(path.c_str());
          uploads_refused_.inc();
          done(std::move(e));
        };
        if (!used) return refuse_now(used.take_error());
        if (config_.quota_bytes > 0 && *used + size > config_.quota_bytes) {
          return refuse_now(make_error(
              Errc::kQuotaExceeded, "storage quota exceeded: " + std::to_string(*used) + " of " +
                                        std::to_string(config_.quota_bytes) +
                                        " bytes used, this file needs " + std::to_string(size)));
        }
        auto job = std::make_shared<std::function<void()>>();
        auto shared_done = std::make_shared<Callback<core::Attachment>>(std::move(done));
        std::string p = path;
        *job = [this, who, name = std::move(name), path = std::move(path), size, shared_done] {
          process(who, name, path, size, std::move(*shared_done));
        };
        if (!workers_->try_post([job] { (*job)(); })) {
          ::unlink(p.c_str());
          uploads_refused_.inc();
          auto e = make_error(Errc::kUnavailable, "busy processing uploads; retry shortly");
          e.retry_after_ms = 1000;
          (*shared_done)(std::move(e));
        }
      });
}

void FileService::process(auth::Actor who, std::string name, std::string path, std::int64_t size,
                          Callback<core::Attachment> done, Id upload_id) {
  auto refuse = [&](core::Error e) {
    ::unlink(path.c_str());
    uploads_refused_.inc();
    done(std::move(e));
  };
  auto sha = sha256_file(path);
  if (!sha) return refuse(sha.take_error());
  auto mime = detect_mime(path);
  if (!mime) return refuse(mime.take_error());
  if (!mime_allowed(*mime, config_.allowed_types)) {
    return refuse(make_error(Errc::kUnsupportedType,
                             "file type " + *mime + " (detected from the content) is not allowed"));
  }
  core::Attachment a;
  a.id = upload_id != 0 ? upload_id : deps_.ids.next();
  a.uploader_id = who.user_id;
  a.name = std::move(name);
  a.mime = *mime;
  a.kind = kind_of(*mime);
  a.size = size;
  a.sha256 = *sha;
  a.created_at = deps_.clock.now_ms();

  std::vector<std::string> keys{a.sha256};
  std::string thumb, preview;
  if (a.kind == core::AttachmentKind::kImage) {
    auto r = render_image(path, ImageLimits{.max_pixels = config_.max_image_pixels,
                                            .thumbnail_px = config_.thumbnail_px,
                                            .preview_px = config_.preview_px});
    if (!r) return refuse(r.take_error());
    a.width = r->width;
    a.height = r->height;
    thumb = std::move(r->thumbnail);
    preview = std::move(r->preview);
    a.thumb_key = sha256_bytes(thumb);
    a.preview_key = sha256_bytes(preview);
    keys.push_back(a.thumb_key);
    keys.push_back(a.preview_key);
  }
  for (const auto& k : keys) pin(k);
  auto unpin_all = [this, keys] {
    for (const auto& k : keys) unpin(k);
  };
  core::Status st = core::ok_status();
  if (!thumb.empty()) st = deps_.blobs.put_bytes(a.thumb_key, thumb);
  if (st && !preview.empty()) st = deps_.blobs.put_bytes(a.preview_key, preview);
  if (st) st = deps_.blobs.put_file(a.sha256, path);
  if (!st) {
    unpin_all();
    // Blobs already stored are unreferenced: the next sweep removes them.
    return refuse(st.take_error());
  }
  store::NewAttachment n;
  n.attachment = std::move(a);
  n.upload_id = upload_id;
  n.quota = config_.quota_bytes;
  deps_.store.create_attachment(
      std::move(n), [this, unpin_all, done = std::move(done)](core::Result<core::Attachment> r) {
        unpin_all();
        if (r) {
          uploads_ok_.inc();
          if (has_text(r->mime, text_limits_)) index_file_texts();
        } else {
          uploads_refused_.inc();
        }
        done(std::move(r));
      });
}

// --- resumable uploads

std::string FileService::part_path(Id upload_id) const {
  return deps_.parts_dir + "/" + std::to_string(upload_id) + ".part";
}

void FileService::check_upload(const auth::Actor& who, std::int64_t length,
                               Callback<core::Ok> done) {
  if (length > config_.max_upload_bytes) {
    return done(make_error(Errc::kTooLarge, "file: over the " +
                                                std::to_string(config_.max_upload_bytes) +
                                                " byte limit"));
  }
  if (config_.quota_bytes <= 0 || length <= 0) return done(core::Ok{});
  const std::int64_t quota = config_.quota_bytes;
  deps_.store.storage_used(who.user_id, [quota, length, done = std::move(done)](
                                            core::Result<std::int64_t> used) {
    if (!used) return done(used.take_error());
    if (*used + length > quota) {
      return done(make_error(Errc::kQuotaExceeded,
                             "storage quota exceeded: " + std::to_string(*used) + " of " +
                                 std::to_string(quota) + " bytes used, this file needs " +
                                 std::to_string(length)));
    }
    done(core::Ok{});
  });
}

void FileService::create_upload(const auth::Actor& who, std::string raw_name, std::int64_t size,
                                Callback<store::PendingUpload> done) {
  if (deps_.parts_dir.empty()) {
    return done(make_error(Errc::kUnavailable, "resumable uploads are not configured"));
  }
  auto name = sanitize_file_name(raw_name);
  if (!name) return done(name.take_error());
  if (size <= 0) return done(make_error(Errc::kInvalidArgument, "size: empty file (0 bytes)"));
  if (size > config_.max_upload_bytes) {
    return done(make_error(Errc::kTooLarge, "size: over the " +
                                                std::to_string(config_.max_upload_bytes) +
                                                " byte limit"));
  }
  store::PendingUpload u;
  u.id = deps_.ids.next();
  u.user_id = who.user_id;
  u.name = std::move(*name);
  u.size = size;
  u.created_at = deps_.clock.now_ms();
  deps_.store.create_upload(std::move(u), config_.quota_bytes, std::move(done));
}

void FileService::upload_status(const auth::Actor& who, Id id,
                                Callback<store::PendingUpload> done) {
  const Id user = who.user_id;
  deps_.store.upload_by_id(id, [user, done = std::move(done)](core::Result<store::PendingUpload> u) {
    if (u && u->user_id != user) return done(make_error(Errc::kNotFound, "upload not found"));
    done(std::move(u));
  });
}

void FileService::check_append(const auth::Actor& who, Id id, std::int64_t offset,
                               std::int64_t length, Callback<store::PendingUpload> done) {
  const std::int64_t now = deps_.clock.now_ms();
  upload_status(who, id, [offset, length, now, done = std::move(done)](
                             core::Result<store::PendingUpload> u) {
    if (!u) return done(std::move(u));
    if (u->lease != 0 && u->lease_until > now) {
      auto e = make_error(Errc::kConflict, "upload busy: another request is writing to it");
      e.retry_after_ms = u->lease_until - now;
      return done(e);
    }
    if (u->offset != offset) {
      return done(make_error(Errc::kConflict, "offset mismatch: the upload has " +
                                                  std::to_string(u->offset) + " bytes, not " +
                                                  std::to_string(offset)));
    }
    if (length > u->size - offset) {
      return done(make_error(Errc::kTooLarge, "chunk: ends past the declared size of " +
                                                  std::to_string(u->size) + " bytes"));
    }
    done(std::move(u));
  });
}

core::Status FileService::write_part(Id upload_id, std::int64_t offset, const std::string& chunk,
                                     std::int64_t length) {
  const std::string part = part_path(upload_id);
  if (offset == 0) {
    // The first chunk becomes the part file (same filesystem: a rename), replacing whatever a
    // crash left of an earlier first chunk that was never acknowledged.
    if (::rename(chunk.c_str(), part.c_str()) != 0) return io_error("store a chunk", errno);
    int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open the part file", errno);
    auto st = fsync_fd(fd, "fsync the part file");
    ::close(fd);
    if (!st) return st;
    return fsync_dir(deps_.parts_dir);
  }
  int to = ::open(part.c_str(), O_WRONLY | O_CLOEXEC);
  if (to < 0) return io_error("open the part file", errno);
  struct stat st {};
  if (::fstat(to, &st) != 0 || st.st_size < offset) {
    ::close(to);
    return make_error(Errc::kInternal, "upload: the part file is shorter than its recorded offset");
  }
  // Bytes past the recorded offset were never acknowledged (a crash between write and record):
  // drop them so the file matches the offset the client was told.
  if (st.st_size > offset && ::ftruncate(to, offset) != 0) {
    int err = errno;
    ::close(to);
    return io_error("truncate the part file", err);
  }
  int from = ::open(chunk.c_str(), O_RDONLY | O_CLOEXEC);
  if (from < 0) {
    int err = errno;
    ::close(to);
    return io_error("open the staged chunk", err);
  }
  auto copied = copy_range(from, to, offset, length);
  ::close(from);
  if (copied) copied = fsync_fd(to, "fsync the part file");
  ::close(to);
  ::unlink(chunk.c_str());
  return copied;
}

void FileService::append(const auth::Actor& who, Id id, std::int64_t offset, std::string path,
                         Callback<store::PendingUpload> done) {
  auto refuse = [this, &path, &done](core::Error e) {
    ::unlink(path.c_str());
    chunks_refused_.inc();
    done(std::move(e));
  };
  if (deps_.parts_dir.empty()) {
    return refuse(make_error(Errc::kUnavailable, "resumable uploads are not configured"));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return refuse(make_error(Errc::kInternal, "upload: staged chunk is gone"));
  }
  const std::int64_t length = st.st_size;
  if (length == 0) {
    // Nothing to write: answers the current state (a client may ask this way too).
    ::unlink(path.c_str());
    return check_append(who, id, offset, 0, std::move(done));
  }
  const std::int64_t now = deps_.clock.now_ms();
  store::UploadLease lease{.upload_id = id, .user_id = who.user_id, .offset = offset,
                           .token = static_cast<std::int64_t>(deps_.ids.next()), .now = now,
                           .until = now + kLeaseMs};
  deps_.store.lease_upload(lease, [this, lease, length, path = std::move(path),
                                   done = std::move(done)](
                                      core::Result<store::PendingUpload> u) mutable {
    auto refuse_now = [&](core::Error e) {
      ::unlink(path.c_str());
      chunks_refused_.inc();
      done(std::move(e));
    };
    if (!u) return refuse_now(u.take_error());
    // Ends the lease, recording `offset`, and answers with `outcome` (or the recorded upload).
    auto finish = std::make_shared<std::function<void(std::int64_t, std::optional<core::Error>)>>();
    auto shared_done = std::make_shared<Callback<store::PendingUpload>>(std::move(done));
    *finish = [this, lease, shared_done](std::int64_t offset, std::optional<core::Error> outcome) {
      deps_.store.release_upload(
          lease.upload_id, lease.token, offset, deps_.clock.now_ms(),
          [this, outcome, shared_done](core::Result<store::PendingUpload> r) {
            if (outcome) {
              chunks_refused_.inc();
              return (*shared_done)(*outcome);
            }
            if (r) {
              chunks_ok_.inc();
            } else {
              chunks_refused_.inc();
            }
            (*shared_done)(std::move(r));
          });
    };
    if (length > u->size - lease.offset) {
      ::unlink(path.c_str());
      return (*finish)(lease.offset,
                       make_error(Errc::kTooLarge, "chunk: ends past the declared size of " +
                                                       std::to_string(u->size) + " bytes"));
    }
    std::string p = path;
    bool posted = workers_->try_post([this, lease, length, path = std::move(path), finish] {
      auto st = write_part(lease.upload_id, lease.offset, path, length);
      ::unlink(path.c_str());
      if (!st) {
        ops::log_warn("files: appending to an upload failed", {{"error", st.error().message}});
        // What was written past the offset is dropped by the next append.
        return (*finish)(lease.offset, st.take_error());
      }
      (*finish)(lease.offset + length, std::nullopt);
    });
    if (!posted) {
      ::unlink(p.c_str());
      auto e = make_error(Errc::kUnavailable, "busy processing uploads; retry shortly");
      e.retry_after_ms = 1000;
      (*finish)(lease.offset, e);
    }
  });
}

void FileService::complete(const auth::Actor& who, Id id, Callback<Completed> done) {
  const auth::Actor actor = who;
  upload_status(who, id, [this, actor, id, done = std::move(done)](
                             core::Result<store::PendingUpload> u) mutable {
    if (!u && u.error().code == Errc::kNotFound) {
      // Completed already (the answer was lost and the client asks again)?
      return deps_.store.attachment_by_id(
          id, [user = actor.user_id, done = std::move(done)](core::Result<core::Attachment> a) {
            if (!a || a->uploader_id != user) {
              return done(make_error(Errc::kNotFound, "upload not found"));
            }
            done(Completed{std::move(*a), true});
          });
    }
    if (!u) return done(u.take_error());
    if (u->offset != u->size) {
      return done(make_error(Errc::kConflict, "upload incomplete: " + std::to_string(u->offset) +
                                                  " of " + std::to_string(u->size) +
                                                  " bytes received"));
    }
    const std::int64_t now = deps_.clock.now_ms();
    store::UploadLease lease{.upload_id = id, .user_id = actor.user_id, .offset = u->size,
                             .token = static_cast<std::int64_t>(deps_.ids.next()), .now = now,
                             .until = now + kLeaseMs};
    deps_.store.lease_upload(lease, [this, actor, lease, up = *u, done = std::move(done)](
                                        core::Result<store::PendingUpload> l) mutable {
      if (!l) return done(l.take_error());
      auto shared_done = std::make_shared<Callback<Completed>>(std::move(done));
      auto finished = [this, actor, lease, shared_done](core::Result<core::Attachment> a) {
        if (a) return (*shared_done)(Completed{std::move(*a), false});
        // Refused (type, image, quota, disk): the part file is gone, so is the upload.
        deps_.store.delete_upload(actor.user_id, lease.upload_id,
                                  [e = a.error(), shared_done](core::Result<core::Ok>) {
                                    (*shared_done)(e);
                                  });
      };
      bool posted = workers_->try_post([this, actor, up, finished] {
        process(actor, up.name, part_path(up.id), up.size, finished, up.id);
      });
      if (!posted) {
        auto e = make_error(Errc::kUnavailable, "busy processing uploads; retry shortly");
        e.retry_after_ms = 1000;
        deps_.store.release_upload(lease.upload_id, lease.token, up.size, deps_.clock.now_ms(),
                                   [e, shared_done](core::Result<store::PendingUpload>) {
                                     (*shared_done)(e);
                                   });
      }
    });
  });
}

void FileService::cancel_upload(const auth::Actor& who, Id id, Callback<core::Ok> done) {
  deps_.store.delete_upload(who.user_id, id,
                            [this, id, done = std::move(done)](core::Result<core::Ok> r) {
                              if (r && !deps_.parts_dir.empty()) ::unlink(part_path(id).c_str());
                              done(std::move(r));
                            });
}

void FileService::download(const auth::Actor& who, Id id, Rendition rendition,
                           Callback<std::shared_ptr<Download>> done) {
  auto& store = deps_.store;
  auto& blobs = deps_.blobs;
  const Id user = who.user_id;
  store.attachment_by_id(id, [&store, &blobs, user, rendition, done = std::move(done)](
                                 core::Result<core::Attachment> a) mutable {
    auto hidden = make_error(Errc::kNotFound, "attachment not found");
    if (!a) return done(a.error().code == Errc::kNotFound ? hidden : a.take_error());
    auto serve = [&blobs, rendition](core::Attachment att) -> core::Result<std::shared_ptr<Download>> {
      auto d = std::make_shared<Download>();
      switch (rendition) {
        case Rendition::kOriginal:
          d->key = att.sha256;
          d->mime = att.mime;
          break;
        case Rendition::kThumbnail:
          d->key = att.thumb_key;
          d->mime = "image/webp";
          break;
        case Rendition::kPreview:
          d->key = att.preview_key;
          d->mime = "image/webp";
          break;
      }
      if (d->key.empty()) return make_error(Errc::kNotFound, "this attachment has no such rendition");
      auto reader = blobs.open(d->key);
      if (!reader) {
        return reader.error().code == Errc::kNotFound
                   ? make_error(Errc::kInternal, "attachment blob missing")
                   : reader.take_error();
      }
      d->reader = std::move(*reader);
      d->attachment = std::move(att);
      return d;
    };
    if (a->message_id == 0) {
      if (a->uploader_id != user) return done(hidden);
      return done(serve(std::move(*a)));
    }
    // Sent: members of its room only, checked on every request.
    Id room = a->room_id;
    store.member(room, user, [serve, att = std::move(*a), hidden, done = std::move(done)](
                                 core::Result<core::Member> m) mutable {
      if (!m) return done(m.error().code == Errc::kNotFound ? hidden : m.take_error());
      done(serve(std::move(att)));
    });
  });
}

void FileService::pin(const std::string& key) {
  std::lock_guard lock(pins_mu_);
  Pin& p = pins_[key];
  ++p.count;
  p.generation = ++pin_generation_;
}

void FileService::unpin(const std::string& key) {
  std::lock_guard lock(pins_mu_);
  auto it = pins_.find(key);
  if (it == pins_.end()) return;
  --it->second.count;
  // The row that refers to the blob committed just before this; a sweep that began earlier may
  // have read the references before that commit, so it must see this key as recently pinned.
  it->second.generation = ++pin_generation_;
}

SweepStats FileService::sweep() {
  std::lock_guard sweeping(sweep_mu_);
  SweepStats stats;
  // 1. Uploads never sent, older than the TTL.
  const std::int64_t before = deps_.clock.now_ms() - config_.unsent_ttl_ms;
  for (;;) {
    auto r = wait_for<store::SweepResult>(
        [&](auto cb) { deps_.store.sweep_unsent(before, kSweepBatch, std::move(cb)); });
    if (!r) {
      ops::log_warn("files: sweeping unsent uploads failed", {{"error", r.error().message}});
      break;
    }
    stats.unsent_deleted += static_cast<std::int64_t>(r->attachments.size());
    stats.uploads_deleted += static_cast<std::int64_t>(r->uploads.size());
    if (!deps_.parts_dir.empty()) {
      for (const auto& u : r->uploads) ::unlink(part_path(u.id).c_str());
    }
    if (r->attachments.size() < static_cast<std::size_t>(kSweepBatch) &&
        r->uploads.size() < static_cast<std::size_t>(kSweepBatch)) {
      break;
    }
  }
  unsent_swept_.inc(static_cast<std::uint64_t>(stats.unsent_deleted));
  // 2. Blobs no attachment refers to. A blob pinned at any time since this pass began may have
  // a row committed after the store answered, so it is left for the next sweep.
  std::uint64_t start_generation;
  {
    std::lock_guard lock(pins_mu_);
    start_generation = pin_generation_;
  }
  std::string after;
  for (;;) {
    auto page = deps_.blobs.list(after, kBlobPage);
    if (!page) {
      ops::log_warn("files: listing blobs failed", {{"error", page.error().message}});
      break;
    }
    if (page->empty()) break;
    after = page->back();
    auto refs = wait_for<std::vector<std::string>>(
        [&](auto cb) { deps_.store.referenced_blobs(*page, std::move(cb)); });
    if (!refs) {
      ops::log_warn("files: checking blob references failed", {{"error", refs.error().message}});
      break;
    }
    std::set<std::string> referenced(refs->begin(), refs->end());
    for (const std::string& key : *page) {
      if (referenced.count(key) != 0) continue;
      {
        std::lock_guard lock(pins_mu_);
        auto it = pins_.find(key);
        if (it != pins_.end() && (it->second.count > 0 || it->second.generation > start_generation)) {
          continue;
        }
        // Removed under the lock: a store of this key that starts now pins it first and then
        // writes the blob again after this unlink.
        if (auto st = deps_.blobs.remove(key); !st) {
          ops::log_warn("files: removing a blob failed", {{"error", st.error().message}});
          continue;
        }
      }
      ++stats.blobs_deleted;
    }
    if (page->size() < kBlobPage) break;
  }
  blobs_swept_.inc(static_cast<std::uint64_t>(stats.blobs_deleted));
  {
    // Forget pins that no sweep needs any more.
    std::lock_guard lock(pins_mu_);
    for (auto it = pins_.begin(); it != pins_.end();) {
      if (it->second.count == 0 && it->second.generation <= start_generation) {
        it = pins_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return stats;
}

void FileService::sweeper_loop() {
  std::unique_lock lock(stop_mu_);
  for (;;) {
    if (stop_cv_.wait_for(lock, std::chrono::milliseconds(config_.sweep_interval_ms),
                          [&] { return stopping_; })) {
      return;
    }
    lock.unlock();
    SweepStats s = sweep();
    if (s.unsent_deleted > 0 || s.blobs_deleted > 0 || s.uploads_deleted > 0) {
      ops::log_info("files: swept", {{"unsent_attachments", std::to_string(s.unsent_deleted)},
                                     {"uploads", std::to_string(s.uploads_deleted)},
                                     {"blobs", std::to_string(s.blobs_deleted)}});
    }
    lock.lock();
  }
}

}  // namespace parley::files
