#include "files/media.h"

#include <magic.h>
#include <vips/vips.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

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

std::uint32_t le32(const std::string& b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}
void put_le32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

// libvips 8.14's WebP saver writes an EXIF chunk (resolution, orientation) even when told to
// strip; this removes the metadata chunks (EXIF, XMP, ICCP) from the RIFF container and clears
// their flags in the VP8X header. kInternal for bytes that are not a well-formed WebP.
core::Status strip_webp_metadata(std::string& webp) {
  if (webp.size() < 12 || webp.compare(0, 4, "RIFF") != 0 || webp.compare(8, 4, "WEBP") != 0) {
    return make_error(Errc::kInternal, "webp: not a RIFF/WEBP file");
  }
  std::string out = webp.substr(0, 12);
  std::size_t at = 12;
  std::size_t vp8x = std::string::npos;
  while (at + 8 <= webp.size()) {
    std::string fourcc = webp.substr(at, 4);
    std::size_t len = le32(webp, at + 4);
    std::size_t padded = len + (len & 1);
    if (at + 8 + padded > webp.size()) return make_error(Errc::kInternal, "webp: truncated chunk");
    if (fourcc != "EXIF" && fourcc != "XMP " && fourcc != "ICCP") {
      if (fourcc == "VP8X") vp8x = out.size();
      out.append(webp, at, 8 + padded);
    }
    at += 8 + padded;
  }
  if (vp8x != std::string::npos) {
    // Flags byte: ICC 0x20, EXIF 0x08, XMP 0x04.
    out[vp8x + 8] = static_cast<char>(static_cast<unsigned char>(out[vp8x + 8]) & ~0x2C);
  }
  put_le32(out, 4, static_cast<std::uint32_t>(out.size() - 8));
  webp = std::move(out);
  return core::ok_status();
}

namespace {

core::Result<std::string> thumbnail_webp(const std::string& path, int box) {
  VipsImage* out = nullptr;
  // vips_thumbnail decodes with shrink-on-load where the format allows, applies the EXIF
  // orientation, and never upsizes (VIPS_SIZE_DOWN).
  if (vips_thumbnail(path.c_str(), &out, box, "height", box, "size", VIPS_SIZE_DOWN, nullptr) !=
      0) {
    return make_error(Errc::kInvalidArgument, "image: cannot be decoded (" + vips_message() + ")");
  }
  ImagePtr thumb(out);
  // The encoder's "strip" does not drop EXIF from WebP in every libvips version: remove every
  // metadata field from a copy, so that nothing but pixels can reach the output.
  VipsImage* copy = nullptr;
  if (vips_copy(thumb.get(), &copy, nullptr) != 0) {
    return make_error(Errc::kInternal, "image: copy failed (" + vips_message() + ")");
  }
  ImagePtr img(copy);
  if (gchar** fields = vips_image_get_fields(img.get())) {
    for (gchar** f = fields; *f != nullptr; ++f) {
      std::string_view name(*f);
      for (std::string_view prefix : {"exif-", "xmp-", "iptc-", "icc-", "orientation",
                                      "png-comment", "gif-comment", "photoshop-", "comment"}) {
        if (name.substr(0, prefix.size()) == prefix) {
          vips_image_remove(img.get(), *f);
          break;
        }
      }
    }
    g_strfreev(fields);
  }
  void* buf = nullptr;
  std::size_t len = 0;
  if (vips_webpsave_buffer(img.get(), &buf, &len, "Q", 80, "strip", TRUE, nullptr) != 0) {
    return make_error(Errc::kInvalidArgument, "image: cannot be re-encoded (" + vips_message() + ")");
  }
  std::string bytes(static_cast<const char*>(buf), len);
  g_free(buf);
  if (auto st = strip_webp_metadata(bytes); !st) return st.take_error();
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
    // The renditions are turned upright (EXIF orientation); the size recorded is the upright
    // one too, since clients reserve the image's space from it before the thumbnail arrives.
    if (vips_image_get_orientation_swap(header)) std::swap(out.width, out.height);
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
