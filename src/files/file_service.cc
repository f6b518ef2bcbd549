#include "files/file_service.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

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
constexpr std::size_t kBlobPage = 500;

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
      workers_(std::make_unique<WorkerPool>(config_.workers,
                                            static_cast<std::size_t>(config_.max_queue))) {
  sweeper_ = std::thread([this] { sweeper_loop(); });
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
                          Callback<core::Attachment> done) {
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
  a.id = deps_.ids.next();
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
  n.quota = config_.quota_bytes;
  deps_.store.create_attachment(
      std::move(n), [this, unpin_all, done = std::move(done)](core::Result<core::Attachment> r) {
        unpin_all();
        if (r) {
          uploads_ok_.inc();
        } else {
          uploads_refused_.inc();
        }
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
  if (it != pins_.end()) --it->second.count;
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
    if (s.unsent_deleted > 0 || s.blobs_deleted > 0) {
      ops::log_info("files: swept", {{"unsent_attachments", std::to_string(s.unsent_deleted)},
                                     {"blobs", std::to_string(s.blobs_deleted)}});
    }
    lock.lock();
  }
}

}  // namespace parley::files
