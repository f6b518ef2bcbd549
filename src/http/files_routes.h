// http/files_routes.h: the attachments routes (docs/protocol.md, "Attachments"):
//   POST /api/v1/uploads?name=...            raw body streamed to disk by the transport
//   POST /api/v1/uploads/resumable           {name, size}: opens a resumable upload
//   GET|HEAD /api/v1/uploads/{id}            its acknowledged offset (Upload-Offset)
//   PATCH /api/v1/uploads/{id}               a chunk at Upload-Offset (streamed to disk)
//   POST /api/v1/uploads/{id}/complete       the finished upload becomes an attachment
//   DELETE /api/v1/uploads/{id}              cancels it
//   GET  /api/v1/attachments/{id}            the file (Range, ETag, sandboxing headers)
//   GET  /api/v1/attachments/{id}/thumbnail  image renditions (WebP)
//   GET  /api/v1/attachments/{id}/preview
// plus the pure helpers behind them (Range parsing), unit tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "auth/rate_limiter.h"
#include "files/file_service.h"
#include "http/dispatcher.h"

namespace parley::http {

inline constexpr std::string_view kUploadPath = "/api/v1/uploads";
inline constexpr std::string_view kResumablePath = "/api/v1/uploads/resumable";

void add_file_routes(Dispatcher& d, files::FileService& files);

// Before an upload's body is read (Dispatcher::admit, after authentication): the per-user upload
// rate limit (429), then for a one-shot upload the size limit and quota against the declared
// Content-Length (413), for a chunk its Upload-Offset and length against the upload (400, 404,
// 409 with the current offset, 413). Refuses on `c` or calls `admit()`.
void admit_upload(files::FileService& files, auth::RateLimiter& limiter, std::shared_ptr<Call> c,
                  std::function<void()> admit);

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
enum class RangeResult { kWhole, kPartial, kUnsatisfiable };
// Interprets a Range header against a body of `size` bytes: one "bytes=a-b", "bytes=a-" or
// "bytes=-n" range gives kPartial (clamped to the body); one that starts past the end
// kUnsatisfiable; anything else (absent, malformed, several ranges) kWhole, as RFC 9110 allows.
RangeResult parse_range(std::string_view header, std::uint64_t size, ByteRange& out);

// An Upload-Offset header: a plain decimal in 0..2^63-1; nullopt otherwise (absent included).
std::optional<std::int64_t> parse_upload_offset(std::string_view header);

}  // namespace parley::http
