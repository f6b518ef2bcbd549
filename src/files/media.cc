#include "files/media.h"

#include <magic.h>
#include <vips/vips.h>

#include <memory>
#include <mutex>

namespace parley::files {

using core::Errc;
using core::make_error;

namespace {

struct MagicCloser {
  void operator()(magic_set* m) const { magic_close(m); }
};

// One libmagic handle per thread: magic_t is not thread-safe.
magic_t thread_magic() {
  thread_local std::unique_ptr<magic_set, MagicCloser> handle = [] {
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS |
                           MAGIC_NO_CHECK_ELF);
    if (m != nullptr && magic_load(m, nullptr) != 0) {
      magic_close(m);
      m = nullptr;
    }
    return std::unique_ptr<magic_set, MagicCloser>(m);
  }();
  return handle.get();
}

std::string vips_message() {
  std::string msg = vips_error_buffer();
  vips_error_clear();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

struct Unref {
  void operator()(VipsImage* i) const { g_object_unref(i); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

core::Result<std::string> thumbnail_webp(const std::string& path, int box) {
  VipsImage* out = nullptr;
  // vips_thumbnail decodes with shrink-on-load where the format allows, applies the EXIF
  // orientation, and never upsizes (VIPS_SIZE_DOWN).
  if (vips_thumbnail(path.c_str(), &out, box, "height", box, "size", VIPS_SIZE_DOWN, nullptr) !=
      0) {
    return make_error(Errc::kInvalidArgument, "image: cannot be decoded (" + vips_message() + ")");
  }
  ImagePtr img(out);
  void* buf = nullptr;
  std::size_t len = 0;
  if (vips_webpsave_buffer(img.get(), &buf, &len, "Q", 80, "strip", TRUE, nullptr) != 0) {
    return make_error(Errc::kInvalidArgument, "image: cannot be re-encoded (" + vips_message() + ")");
  }
  std::string bytes(static_cast<const char*>(buf), len);
  g_free(buf);
  return bytes;
}

}  // namespace

core::Status init_media() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = VIPS_INIT("parley") == 0;
    if (!ok) return;
    // Only the loaders libvips marks trusted (no ImageMagick, no matrix/vips formats): we hand
    // it nothing but JPEG, PNG, GIF and WebP anyway, as libmagic detected them.
    vips_block_untrusted_set(TRUE);
    vips_cache_set_max(0);  // no operation cache: every file is new, and temp paths get reused
    vips_concurrency_set(1);
  });
  if (!ok) return make_error(Errc::kInternal, "libvips failed to start");
  return core::ok_status();
}

core::Result<std::string> detect_mime(const std::string& path) {
  magic_t m = thread_magic();
  if (m == nullptr) return make_error(Errc::kInternal, "libmagic: cannot load its database");
  const char* type = magic_file(m, path.c_str());
  if (type == nullptr) {
    const char* err = magic_error(m);
    return make_error(Errc::kInternal, std::string("libmagic: ") + (err ? err : "failed"));
  }
  return std::string(type);
}

core::AttachmentKind kind_of(std::string_view mime) {
  if (mime == "image/jpeg" || mime == "image/png" || mime == "image/gif" || mime == "image/webp") {
    return core::AttachmentKind::kImage;
  }
  if (mime.rfind("video/", 0) == 0) return core::AttachmentKind::kVideo;
  if (mime.rfind("audio/", 0) == 0) return core::AttachmentKind::kAudio;
  return core::AttachmentKind::kFile;
}

bool mime_allowed(std::string_view mime, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (p == mime) return true;
    if (!p.empty() && p.back() == '*' &&
        mime.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1)) {
      return true;
    }
  }
  return false;
}

core::Result<ImageRenditions> render_image(const std::string& path, const ImageLimits& limits) {
  ImageRenditions out;
  {
    // Header only: libvips decodes pixels lazily, so this reads a few bytes of a bomb.
    VipsImage* header = vips_image_new_from_file(path.c_str(), "access",
                                                 VIPS_ACCESS_SEQUENTIAL, nullptr);
    if (header == nullptr) {
      return make_error(Errc::kInvalidArgument,
                        "image: cannot be decoded (" + vips_message() + ")");
    }
    ImagePtr img(header);
    out.width = vips_image_get_width(header);
    out.height = vips_image_get_height(header);
  }
  const std::int64_t pixels = static_cast<std::int64_t>(out.width) * out.height;
  if (pixels > limits.max_pixels || out.width <= 0 || out.height <= 0) {
    return make_error(Errc::kTooLarge,
                      "image: " + std::to_string(out.width) + "x" + std::to_string(out.height) +
                          " pixels is more than the " + std::to_string(limits.max_pixels) +
                          " allowed");
  }
  auto thumb = thumbnail_webp(path, limits.thumbnail_px);
  if (!thumb) return thumb.take_error();
  out.thumbnail = std::move(*thumb);
  auto preview = thumbnail_webp(path, limits.preview_px);
  if (!preview) return preview.take_error();
  out.preview = std::move(*preview);
  return out;
}

}  // namespace parley::files
