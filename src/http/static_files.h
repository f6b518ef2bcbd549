// http/static_files.h: serves the built web client (http.web_root) for GET/HEAD requests that
// are not API or ops routes.
//
// Rules: the path is percent-decoded once; `..`, `.`, backslashes, NUL and encoded slashes are
// rejected (400), hidden files (a segment starting with '.') are not served (404), and a path
// that resolves (through symlinks) outside the root is 404. `/` and unknown paths without a
// file extension get index.html (the single-page app routes on the client); unknown paths with
// an extension are 404. Hashed assets under /assets/ (Vite's `name-<hash>.ext`) are cached for
// a year as immutable; HTML is `no-cache`; everything else revalidates by ETag. A precompressed
// `<file>.br` or `<file>.gz` beside the file is served when the client accepts it.
//
// File contents are kept in a byte-bounded in-memory cache (validated by size and mtime on
// each request), so a busy server reads each asset from disk once.
//
// Threading: serve() from any thread; the cache has its own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "http/api.h"

namespace parley::http {

struct StaticFilesConfig {
  std::string root;                         // directory of the built web client
  std::size_t cache_bytes = 64 << 20;       // total cached file bytes; past it the cache resets
  std::size_t max_cached_file = 4 << 20;    // larger files are read from disk every time
};

class StaticFiles {
 public:
  explicit StaticFiles(StaticFilesConfig config);

  // `raw_path` is the request path without the query, as received. On success the response
  // has status 200 or 304 and Content-Type, Cache-Control, ETag, Vary (and Content-Encoding);
  // errors are kInvalidArgument (bad path) or kNotFound.
  core::Result<Response> serve(const Request& req, std::string_view raw_path);

  // "text/html; charset=utf-8" etc. by file extension; application/octet-stream if unknown.
  static std::string_view content_type(std::string_view filename);
  // True for Vite-style hashed asset names under /assets/ ("/assets/index-B3xk9aQ1.js").
  static bool is_hashed_asset(std::string_view rel_path);

 private:
  struct Blob {
    std::int64_t mtime = 0;
    std::uintmax_t size = 0;
    std::shared_ptr<const std::string> data;
  };
  // Reads (or fetches from the cache) a regular file; nullptr when missing or unreadable.
  std::shared_ptr<const std::string> load(const std::string& path, std::int64_t mtime,
                                          std::uintmax_t size);

  StaticFilesConfig config_;
  std::string canonical_root_;
  std::mutex mu_;
  std::unordered_map<std::string, Blob> cache_;  // guarded by mu_
  std::size_t cached_bytes_ = 0;                 // guarded by mu_
};

}  // namespace parley::http
