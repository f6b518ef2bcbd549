// blob/fs/fs_blob_store.h: the filesystem BlobStore. Layout under `root`:
//   root/ab/cd/abcd...(64 hex)   one file per blob, fanned out by the key's first two bytes
//   root/tmp/                    staging: incoming request bodies, blobs being written
// A blob is written to a temp file in root/tmp, fsynced, renamed into place, and its directory
// fsynced, so a crash leaves either the whole blob or nothing under its name. create() clears
// root/tmp of files older than a minute at start-up (what a crash left behind).
//
// Threading: thread-safe; every method blocks on the filesystem (worker threads only).
#pragma once

#include <string>

#include "blob/blob_store.h"

namespace parley::blob {

class FsBlobStore final : public BlobStore {
 public:
  // Creates root and root/tmp if needed. kUnavailable (naming the directory) when it cannot.
  static core::Result<std::unique_ptr<FsBlobStore>> create(std::string root);

  const std::string& staging_dir() const override { return tmp_; }
  core::Status put_file(std::string_view key, const std::string& path) override;
  core::Status put_bytes(std::string_view key, std::string_view bytes) override;
  core::Result<std::unique_ptr<BlobReader>> open(std::string_view key) override;
  bool exists(std::string_view key) override;
  core::Status remove(std::string_view key) override;
  core::Result<std::vector<std::string>> list(std::string_view after, std::size_t limit) override;

  // The file a key is stored in (tests check the bytes on disk).
  std::string path_of(std::string_view key) const;

 private:
  explicit FsBlobStore(std::string root);
  core::Status install(std::string_view key, const std::string& tmp_path);

  std::string root_;
  std::string tmp_;
};

}  // namespace parley::blob
