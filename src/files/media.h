// files/media.h: looking inside uploaded files: the content type (libmagic, from the bytes,
// never from the name) and, for images, size and re-encoded renditions (libvips). CPU-heavy:
// call only from the file service's worker threads.
//
// Threading: init_media() once at start-up (before any worker runs); the functions are then
// safe to call from several threads at once (each thread gets its own libmagic handle).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace parley::files {

// Initialises libvips (untrusted loaders blocked, no operation cache, one thread per
// operation: the worker pool is the parallelism). kInternal when libvips cannot start.
core::Status init_media();

// The MIME type of the file's content, e.g. "image/png", "text/plain"; kInternal when libmagic
// fails.
core::Result<std::string> detect_mime(const std::string& path);

// "image" for the formats Parley renders (JPEG, PNG, GIF, WebP), "video"/"audio" by family,
// "file" for everything else.
core::AttachmentKind kind_of(std::string_view mime);

// Whether `mime` matches one of `patterns` ("image/png" or "image/*").
bool mime_allowed(std::string_view mime, const std::vector<std::string>& patterns);

struct ImageLimits {
  std::int64_t max_pixels = 40'000'000;
  int thumbnail_px = 320;
  int preview_px = 1280;
};

struct ImageRenditions {
  int width = 0;   // of the original, upright (EXIF orientation applied, like the renditions)
  int height = 0;
  std::string thumbnail;  // WebP bytes, metadata stripped, auto-rotated
  std::string preview;    // WebP bytes, metadata stripped, auto-rotated
};

// Reads the image header, refuses more than max_pixels before decoding anything (kTooLarge:
// a decompression bomb costs nothing), then decodes and re-encodes a thumbnail and a preview
// without any metadata (EXIF, GPS, XMP, ICC comments). kInvalidArgument when the image cannot
// be decoded.
core::Result<ImageRenditions> render_image(const std::string& path, const ImageLimits& limits);

// Removes the EXIF, XMP and ICC chunks of a WebP file (in place). kInternal for malformed bytes.
core::Status strip_webp_metadata(std::string& webp);

}  // namespace parley::files
