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
// Search in files (decision 0017): after an upload of a type with text (text/*, JSON, PDF), one
// extractor thread takes the text out of the blob (files/text_extract.h: bounded, pdftotext
// with a timeout and limits) and hands it to the store, which indexes every message carrying
// that blob. The work list is the store's (blobs_needing_text): once per blob, and what a
// restart interrupted is picked up at the next start.
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
#include "files/text_extract.h"
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
  std::int64_t uploads_deleted = 0;  // resumable uploads idle past the TTL (part files removed)
};

// What completing a resumable upload gave: the attachment, and whether an earlier completion
// already made it (a retried request after a lost response).
struct Completed {
  core::Attachment attachment;
  bool again = false;
};

class FileService {
 public:
  struct Deps {
    store::Store& store;
    blob::BlobStore& blobs;
    const core::Clock& clock;
    core::IdGenerator& ids;
    ops::Registry& metrics;
    // Resumable uploads' received bytes ("<id>.part"), on the same filesystem as the blob
    // store's staging_dir (chunks arrive there and the finished file is renamed into the blob
    // store). Nodes sharing one store must share this directory too (or route an upload's
    // requests to one node). Empty: resumable uploads answer kUnavailable.
    std::string parts_dir = {};
  };
  // Starts the workers and the sweeper. REQUIRES: init_media() succeeded.
  FileService(Deps deps, ops::FilesConfig config);
  ~FileService();  // shutdown()
  // Stops the sweeper (waiting for a sweep in progress) and finishes queued uploads; uploads
  // after this fail with kUnavailable. Call before the store goes away: both use it. Idempotent.
  void shutdown();

  const std::string& staging_dir() const { return deps_.blobs.staging_dir(); }
  std::int64_t max_upload_bytes() const { return config_.max_upload_bytes; }
  const ops::FilesConfig& config() const { return config_; }

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
  // --- resumable uploads (docs/protocol.md, "Resumable uploads"). The store keeps each one's
  // durable offset and a lease (store::Store::lease_upload), so any node can answer for it, two
  // requests never write it at once and the sweep never takes one being written.
  //
  // Opens an upload of `size` bytes named `raw_name`, its size reserved against the quota.
  // Errors: kInvalidArgument (size 0, bad name), kTooLarge (over max_upload_bytes),
  // kQuotaExceeded.
  void create_upload(const auth::Actor& who, std::string raw_name, std::int64_t size,
                     Callback<store::PendingUpload> done);
  // The open upload `id` if it is who's; kNotFound otherwise (no hint whether it exists).
  void upload_status(const auth::Actor& who, Id id, Callback<store::PendingUpload> done);
  // Before a chunk's body is read: would an append of `length` bytes at `offset` be taken?
  // kNotFound, kConflict (offset is not the upload's, or another request is writing it; the
  // message says which and the current offset), kTooLarge (past the declared size).
  void check_append(const auth::Actor& who, Id id, std::int64_t offset, std::int64_t length,
                    Callback<store::PendingUpload> done);
  // Appends the staged chunk at `path` (consumed whatever happens) at `offset`, which must be
  // the upload's current offset. The answer comes once the bytes are fsynced and the new
  // offset recorded: the offset a client is told is never lost by a crash. Errors as
  // check_append, plus kUnavailable (workers busy or disk trouble: nothing was recorded; retry).
  void append(const auth::Actor& who, Id id, std::int64_t offset, std::string path,
              Callback<store::PendingUpload> done);
  // Turns a fully received upload into an unsent attachment with the same id, through the
  // same checks as upload() (type, images, quota). kConflict while bytes are missing; a repeated
  // call after success answers the same attachment (again = true). A refused file (type,
  // image) ends the upload: its bytes and reservation are gone.
  void complete(const auth::Actor& who, Id id, Callback<Completed> done);
  // Cancels an open upload and removes its bytes. kNotFound unless it is who's.
  void cancel_upload(const auth::Actor& who, Id id, Callback<core::Ok> done);
  // When an upload idle since u.updated_at is swept.
  std::int64_t upload_expires_at(const store::PendingUpload& u) const {
    return u.updated_at + config_.unsent_ttl_ms;
  }
  // Before a one-shot upload's body is read: kTooLarge over max_upload_bytes, kQuotaExceeded
  // when `length` more bytes would exceed who's quota.
  void check_upload(const auth::Actor& who, std::int64_t length, Callback<core::Ok> done);

  // One sweep now, on the calling thread (blocks; the sweeper thread calls this).
  SweepStats sweep();
  // Asks the extractor to index the text of every file that has none yet (it runs by itself
  // after uploads and at start; exposed for tools and tests). Returns at once.
  void index_file_texts();

 private:
  // upload_id != 0: completes that resumable upload (the attachment takes its id).
  void process(auth::Actor who, std::string name, std::string path, std::int64_t size,
               Callback<core::Attachment> done, Id upload_id = 0);
  std::string part_path(Id upload_id) const;
  core::Status write_part(Id upload_id, std::int64_t offset, const std::string& chunk,
                          std::int64_t length);
  void pin(const std::string& key);
  void unpin(const std::string& key);
  void sweeper_loop();
  bool stopping();
  void extract_texts();  // the extractor thread's job: until no blob needs text
  store::BlobText text_of(const core::Attachment& a);

  Deps deps_;
  const ops::FilesConfig config_;
  ops::Counter& uploads_ok_;
  ops::Counter& uploads_refused_;
  ops::Counter& blobs_swept_;
  ops::Counter& unsent_swept_;
  ops::Counter& chunks_ok_;
  ops::Counter& chunks_refused_;
  ops::Counter& texts_extracted_;
  ops::Counter& texts_failed_;
  const TextExtractLimits text_limits_;

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
  // One extractor thread; a request while it runs makes it look again when done.
  std::mutex extract_mu_;
  bool extract_running_ = false;
  bool extract_again_ = false;
  std::unique_ptr<WorkerPool> extractor_;
};

}  // namespace parley::files
