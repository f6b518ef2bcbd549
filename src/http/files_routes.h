// http/files_routes.h: the attachments routes (docs/protocol.md, "Attachments"):
//   POST /api/v1/uploads?name=...            raw body streamed to disk by the transport
//   GET  /api/v1/attachments/{id}            the file (Range, ETag, sandboxing headers)
//   GET  /api/v1/attachments/{id}/thumbnail  image renditions (WebP)
//   GET  /api/v1/attachments/{id}/preview
// plus the pure helpers behind them (Range parsing), unit tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "files/file_service.h"
#include "http/dispatcher.h"

namespace parley::http {

inline constexpr std::string_view kUploadPath = "/api/v1/uploads";

void add_file_routes(Dispatcher& d, files::FileService& files);

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
enum class RangeResult { kWhole, kPartial, kUnsatisfiable };
// Interprets a Range header against a body of `size` bytes: one "bytes=a-b", "bytes=a-" or
// "bytes=-n" range gives kPartial (clamped to the body); one that starts past the end
// kUnsatisfiable; anything else (absent, malformed, several ranges) kWhole, as RFC 9110 allows.
RangeResult parse_range(std::string_view header, std::uint64_t size, ByteRange& out);

}  // namespace parley::http
