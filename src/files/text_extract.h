// files/text_extract.h: the text of an attached file, for the search index (issue 4; decision
// 0017). Text files are read directly; PDFs go through Debian's `pdftotext` (poppler-utils) as
// a subprocess started without a shell, fed the bytes on stdin, with a wall-clock timeout and
// resource limits (address space, CPU time, no files written, no core dumps), killed when it
// overruns or once enough text has come out. A hostile PDF costs at most one timeout of one
// extractor thread; it cannot hang or crash the server.
//
// Whatever comes out is cleaned (clean_index_text) and cut at max_text_bytes.
//
// Threading: extract_text() blocks (reads the blob, runs the subprocess): call it from a worker
// thread, never a network thread. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blob/blob_store.h"
#include "core/result.h"

namespace parley::files {

struct TextExtractLimits {
  std::size_t max_text_bytes = 64 * 1024;     // text kept per file (UTF-8 bytes)
  std::int64_t max_file_bytes = 32LL << 20;   // larger files are not read (found by name only)
  int timeout_ms = 10'000;                    // one pdftotext run, wall clock
  std::int64_t memory_bytes = 512LL << 20;    // pdftotext's address space (RLIMIT_AS)
  std::string pdftotext = "/usr/bin/pdftotext";  // "" turns PDF extraction off
};

// The media types whose text is indexed, as the store's blobs_needing_text() takes them:
// text/* (plain, markdown, csv, source code), application/json, and application/pdf when
// PDF extraction is on.
std::vector<std::string> text_types(const TextExtractLimits& limits);
bool has_text(std::string_view mime, const TextExtractLimits& limits);

// `raw` as index text: valid UTF-8 (a byte that is not part of a valid sequence is read as
// Latin-1), control characters other than \n and \t, and bidirectional overrides, as spaces;
// at most `max_bytes`, cut at a character boundary.
std::string clean_index_text(std::string_view raw, std::size_t max_bytes);

// The text of the blob `reader` holds, detected type `mime`. Errors: kTooLarge (over
// max_file_bytes), kUnsupportedType (no text to take), kUnavailable (pdftotext timed out, was
// killed by a limit or could not start), kInvalidArgument (pdftotext refused the file).
core::Result<std::string> extract_text(blob::BlobReader& reader, std::string_view mime,
                                       const TextExtractLimits& limits);

}  // namespace parley::files
