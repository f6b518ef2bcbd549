#include "http/files_routes.h"

#include <boost/json/object.hpp>
#include <charconv>

#include "api/json.h"
#include "files/file_name.h"
#include "http/middleware.h"

namespace parley::http {

using core::Errc;
using core::make_error;
using CallPtr = std::shared_ptr<Call>;

namespace {

class BlobBody final : public BodySource {
 public:
  explicit BlobBody(std::shared_ptr<blob::BlobReader> r) : r_(std::move(r)) {}
  core::Result<std::size_t> read(std::uint64_t offset, char* buf, std::size_t n) override {
    return r_->read(offset, buf, n);
  }

 private:
  std::shared_ptr<blob::BlobReader> r_;
};

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

void serve(const CallPtr& c, const files::Download& d, bool original) {
  const std::uint64_t size = d.reader->size();
  const std::string etag = "\"" + d.key + "\"";
  Response r;
  r.headers.emplace_back("ETag", etag);
  // private: no shared cache may keep it; no-cache: the browser asks again (with the ETag) every
  // time, so membership is checked on every use.
  r.headers.emplace_back("Cache-Control", "private, no-cache");
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (c->request().header("if-none-match") == etag) {
    r.status = 304;
    return c->reply(std::move(r));
  }
  const bool media = !original || d.attachment.kind != core::AttachmentKind::kFile;
  std::string name = d.attachment.name;
  if (!original) name += ".webp";
  r.headers.emplace_back("Content-Type", d.mime);
  r.headers.emplace_back("Content-Disposition", files::content_disposition(name, media));
  ByteRange range;
  switch (parse_range(c->request().header("range"), size, range)) {
    case RangeResult::kUnsatisfiable:
      r = Response{};
      r.status = 416;
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      r.headers.emplace_back("Cache-Control", "private, no-cache");
      return c->reply(std::move(r));
    case RangeResult::kPartial:
      r.status = 206;
      r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                  std::to_string(range.first + range.length - 1) +
                                                  "/" + std::to_string(size));
      break;
    case RangeResult::kWhole:
      r.status = 200;
      range = ByteRange{0, size};
      break;
  }
  r.stream = std::make_shared<BlobBody>(d.reader);
  r.stream_offset = range.first;
  r.stream_length = range.length;
  c->reply(std::move(r));
}

void add_download(Dispatcher& d, files::FileService& files, std::string pattern,
                  files::Rendition rendition) {
  d.add("GET", std::move(pattern), Dispatcher::Access::kAuthenticated,
        [&files, rendition](CallPtr c) {
          auto id = core::parse_id(c->param("id"));
          if (!id) return c->fail(make_error(Errc::kNotFound, "attachment not found"));
          c->mark_download();
          files.download(c->actor(), *id, rendition,
                         [c, rendition](core::Result<std::shared_ptr<files::Download>> r) {
                           if (c->failed(r)) return;
                           serve(c, **r, rendition == files::Rendition::kOriginal);
                         });
        });
}

}  // namespace

RangeResult parse_range(std::string_view h, std::uint64_t size, ByteRange& out) {
  constexpr std::string_view kPrefix = "bytes=";
  if (h.substr(0, kPrefix.size()) != kPrefix) return RangeResult::kWhole;
  h.remove_prefix(kPrefix.size());
  if (h.find(',') != std::string_view::npos) return RangeResult::kWhole;
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return RangeResult::kWhole;
  auto first = number(h.substr(0, dash));
  auto last = number(h.substr(dash + 1));
  if (!first) {
    // Suffix: the last n bytes.
    if (!last || h.substr(0, dash).size() != 0) return RangeResult::kWhole;
    if (*last == 0 || size == 0) return RangeResult::kUnsatisfiable;
    std::uint64_t n = std::min(*last, size);
    out = ByteRange{size - n, n};
    return RangeResult::kPartial;
  }
  if (last && *last < *first) return RangeResult::kWhole;
  if (h.substr(dash + 1).size() != 0 && !last) return RangeResult::kWhole;
  if (*first >= size) return RangeResult::kUnsatisfiable;
  std::uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  out = ByteRange{*first, end - *first + 1};
  return RangeResult::kPartial;
}

void add_file_routes(Dispatcher& d, files::FileService& files) {
  d.add("POST", std::string(kUploadPath), Dispatcher::Access::kAuthenticated,
        [&files](CallPtr c) {
          const std::string& path = c->request().body_file;
          if (path.empty()) {
            return c->fail(make_error(Errc::kInvalidArgument, "file: empty (0 bytes)"));
          }
          auto name = query_value(c->query(), "name");
          files.upload(c->actor(), std::string(name.value_or("")), path,
                       [c](core::Result<core::Attachment> a) {
                         if (c->failed(a)) return;
                         boost::json::object o;
                         o["attachment"] = api::to_json(*a);
                         c->reply_json(201, o);
                       });
        });
  add_download(d, files, "/api/v1/attachments/{id}", files::Rendition::kOriginal);
  add_download(d, files, "/api/v1/attachments/{id}/thumbnail", files::Rendition::kThumbnail);
  add_download(d, files, "/api/v1/attachments/{id}/preview", files::Rendition::kPreview);
}

}  // namespace parley::http
