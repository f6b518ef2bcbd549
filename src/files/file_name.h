// files/file_name.h: what Parley does with the file names users give (pure functions, no I/O).
// A stored name is for display and for the download's Content-Disposition only; it never
// becomes a path (blobs are named by their SHA-256).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace parley::files {

inline constexpr std::size_t kMaxFileNameBytes = 255;

// The name to store for a user-supplied one:
//  - only the last path component is kept ("../../etc/passwd" -> "passwd", "C:\\x\\a.txt" -> "a.txt");
//  - control characters (C0, DEL, C1) and the invisible formatting characters that can disguise
//    a name are removed: bidi embeddings, overrides and isolates (U+202A..U+202E,
//    U+2066..U+2069, U+200E, U+200F, U+061C), zero-width characters and U+FEFF;
//  - leading and trailing spaces and dots are trimmed; "" becomes "file".
// kInvalidArgument for invalid UTF-8 or a result over kMaxFileNameBytes.
core::Result<std::string> sanitize_file_name(std::string_view raw);

// A Content-Disposition value per RFC 6266: `attachment` (or `inline`) with an ASCII fallback
// `filename="..."` (non-ASCII, quotes, backslashes and controls replaced by '_') and the exact
// name as `filename*=UTF-8''<percent-encoded>` (RFC 5987).
std::string content_disposition(std::string_view name, bool inline_);

}  // namespace parley::files
