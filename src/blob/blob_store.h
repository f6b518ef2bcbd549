// blob/blob_store.h: the BlobStore interface, where attachment bytes live. Content-addressed:
// a key is the hex SHA-256 of the bytes, so equal files share one blob and a stored blob never
// changes. Deciding when a blob may go (no attachment refers to it) is the caller's job.
//
// Implementations: fs/ (a directory tree, the default). An S3-compatible one fits the same
// shape: put_file is a (multipart) PUT of a local file, open a ranged GET, list a ListObjectsV2
// page, remove a DELETE.
//
// Threading: every method is synchronous and may block on I/O: call them from worker threads,
// never from a network thread (BlobReader::read excepted: see there). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace parley::blob {

// Random access to one stored blob. Keeps the blob readable even if it is removed meanwhile
// (an open file descriptor, for the filesystem store).
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual std::uint64_t size() const = 0;
  // Up to n bytes at `offset`; 0 at the end. The filesystem store reads from the page cache or
  // disk with pread, which the transport calls on its network thread chunk by chunk, as a file
  // server's sendfile would.
  virtual core::Result<std::size_t> read(std::uint64_t offset, char* buf, std::size_t n) = 0;
};

struct BlobInfo {
  std::string key;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // A directory on local disk, on the same filesystem as the store, where callers stage files
  // before put_file (so that put_file can be a rename).
  virtual const std::string& staging_dir() const = 0;

  // Stores the file at `path` (in staging_dir) under `key`, durably: when this returns ok the
  // bytes and the name are on disk. The file at `path` is consumed (moved or removed). Storing
  // a key that exists keeps the existing blob (same key, same bytes).
  virtual core::Status put_file(std::string_view key, const std::string& path) = 0;
  // Stores `bytes` under `key`, durably (as put_file).
  virtual core::Status put_bytes(std::string_view key, std::string_view bytes) = 0;
  // kNotFound when there is no such blob.
  virtual core::Result<std::unique_ptr<BlobReader>> open(std::string_view key) = 0;
  virtual bool exists(std::string_view key) = 0;
  // Removing a missing blob is not an error.
  virtual core::Status remove(std::string_view key) = 0;
  // Up to `limit` keys greater than `after`, ascending ("" = from the start).
  virtual core::Result<std::vector<std::string>> list(std::string_view after, std::size_t limit) = 0;
};

// True for a well-formed key: 64 lower-case hex digits.
bool valid_key(std::string_view key);

}  // namespace parley::blob
