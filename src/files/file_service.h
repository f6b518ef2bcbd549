// files/file_service.h: attachments' use cases: taking an uploaded file in, letting room
// members fetch it, sweeping what nobody refers to any more (issue 4; docs/protocol.md,
// "Attachments").
//
// Upload: the transport streams the request body into a file in staging_dir() (never whole in
// memory) and hands over its path. upload() checks the quota, then on a worker: hashes it
// (SHA-256 = blob key), detects its type from the content (libmagic) and checks it against
// files.allowed_types, renders a thumbnail and a preview of images (libvips, metadata stripped,
// pixel count capped), stores the blobs and records the attachment (unsent; quota checked again
// in the storing transaction). Whatever fails, the staged file is gone afterwards and no row
// refers to a missing blob.
//
// Blobs are shared by equal files, so they are deleted by a sweep, not by the deleter: every
// files.sweep_interval_ms a sweeper thread deletes unsent attachments older than
// files.unsent_ttl_ms, then every blob no attachment refers to. Blobs being stored right now
// are pinned so that the sweep never removes one between its put and its row's commit.
//
// Threading: every method returns at once and calls `done` exactly once, on a store or worker
// thread (or inline for input refused up front). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "auth/auth_service.h"
#include "blob/blob_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/types.h"
#include "files/worker_pool.h"
#include "ops/config.h"
#include "ops/metrics.h"
#include "store/store.h"

namespace parley::files {

using core::Id;
template <class T>
using Callback = store::Callback<T>;

enum class Rendition { kOriginal, kThumbnail, kPreview };

// A blob ready to be sent: what it is and an open reader (it stays readable even if a sweep
// removes it meanwhile).
struct Download {
  core::Attachment attachment;
  std::string key;   // blob key (the ETag)
  std::string mime;  // the type to serve: the detected one, image/webp for renditions
  std::shared_ptr<blob::BlobReader> reader;
};

struct SweepStats {
  std::int64_t unsent_deleted = 0;
  std::int64_t blobs_deleted = 0;
};

class FileService {
 public:
  struct Deps {
    store::Store& store;
    blob::BlobStore& blobs;
    const core::Clock& clock;
    core::IdGenerator& ids;
    ops::Registry& metrics;
  };
  // Starts the workers and the sweeper. REQUIRES: init_media() succeeded.
  FileService(Deps deps, ops::FilesConfig config);
  ~FileService();  // shutdown()
  // Stops the sweeper (waiting for a sweep in progress) and finishes queued uploads; uploads
  // after this fail with kUnavailable. Call before the store goes away: both use it. Idempotent.
  void shutdown();

  const std::string& staging_dir() const { return deps_.blobs.staging_dir(); }
  std::int64_t max_upload_bytes() const { return config_.max_upload_bytes; }

  // Takes the staged file at `path` (consumed whatever happens) as an upload named `raw_name`
  // by `who`. Errors: kInvalidArgument (empty file, bad name, undecodable image), kTooLarge
  // (over max_upload_bytes; image over max_image_pixels), kUnsupportedType, kQuotaExceeded,
  // kUnavailable (workers busy: retry).
  void upload(const auth::Actor& who, std::string raw_name, std::string path,
              Callback<core::Attachment> done);
  // The attachment `id` (or its rendition) if `who` may read it: its uploader while unsent, a
  // current member of its room once sent. kNotFound otherwise (no hint whether it exists).
  void download(const auth::Actor& who, Id id, Rendition rendition,
                Callback<std::shared_ptr<Download>> done);
  // One sweep now, on the calling thread (blocks; the sweeper thread calls this).
  SweepStats sweep();

 private:
  void process(auth::Actor who, std::string name, std::string path, std::int64_t size,
               Callback<core::Attachment> done);
  void pin(const std::string& key);
  void unpin(const std::string& key);
  void sweeper_loop();

  Deps deps_;
  const ops::FilesConfig config_;
  ops::Counter& uploads_ok_;
  ops::Counter& uploads_refused_;
  ops::Counter& blobs_swept_;
  ops::Counter& unsent_swept_;

  // Pinned blob keys: count of stores in flight and the generation of the latest pin.
  struct Pin {
    int count = 0;
    std::uint64_t generation = 0;
  };
  std::mutex pins_mu_;
  std::map<std::string, Pin> pins_;
  std::uint64_t pin_generation_ = 0;

  std::mutex sweep_mu_;  // one sweep at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::unique_ptr<WorkerPool> workers_;
  std::thread sweeper_;
};

}  // namespace parley::files
