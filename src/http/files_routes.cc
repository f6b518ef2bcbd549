#include "http/files_routes.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdint>

#include "api/json.h"
#include "files/file_name.h"
#include "http/middleware.h"
#include "http/problem.h"

namespace parley::http {

using core::Errc;
using core::make_error;
using core::Id;
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

boost::json::object upload_json(const files::FileService& files, const store::PendingUpload& u) {
  boost::json::object o;
  const std::string id = core::id_to_string(u.id);
  o["id"] = id;
  o["name"] = u.name;
  o["size"] = u.size;
  o["offset"] = u.offset;
  o["created_at"] = u.created_at;
  o["expires_at"] = files.upload_expires_at(u);
  o["url"] = std::string(kUploadPath) + "/" + id;
  return o;
}

std::vector<std::pair<std::string, std::string>> offset_headers(const store::PendingUpload& u) {
  return {{"Upload-Offset", std::to_string(u.offset)}, {"Upload-Length", std::to_string(u.size)}};
}

void reply_upload(const CallPtr& c, const files::FileService& files, int status,
                  const store::PendingUpload& u,
                  std::vector<std::pair<std::string, std::string>> extra = {}) {
  auto headers = offset_headers(u);
  for (auto& h : extra) headers.push_back(std::move(h));
  boost::json::object o;
  o["upload"] = upload_json(files, u);
  c->reply_json(status, o, std::move(headers));
}

// A refused append or completion. A conflict tells the current offset (header and body), read
// again now, so the client can resume from there; a busy upload says when to retry.
void fail_upload(const CallPtr& c, files::FileService& files, Id id, core::Error e) {
  if (e.code != Errc::kConflict) return c->fail(e);
  files.upload_status(c->actor(), id, [c, e](core::Result<store::PendingUpload> u) {
    Response r = problem_response(e, c->request_id());
    if (u) {
      for (auto& h : offset_headers(*u)) r.headers.push_back(std::move(h));
      auto body = boost::json::parse(r.body).as_object();
      body["offset"] = u->offset;
      r.body = boost::json::serialize(body);
    }
    if (e.retry_after_ms > 0) {
      r.headers.emplace_back("Retry-After", std::to_string((e.retry_after_ms + 999) / 1000));
    }
    c->reply(std::move(r));
  });
}

}  // namespace

std::optional<std::int64_t> parse_upload_offset(std::string_view header) {
  auto v = number(header);
  if (!v || *v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(*v);
}

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

void add_resumable_routes(Dispatcher& d, files::FileService& files) {
  using Access = Dispatcher::Access;
  d.add("POST", std::string(kResumablePath), Access::kAuthenticated, [&files](CallPtr c) {
    auto body = c->json_body();
    if (c->failed(body)) return;
    auto name = api::get_string(*body, "name");
    if (c->failed(name)) return;
    const boost::json::value* size = body->if_contains("size");
    if (size == nullptr || !size->is_number() || size->is_double()) {
      return c->fail(make_error(Errc::kInvalidArgument, "size: must be an integer (bytes)"));
    }
    std::int64_t n = size->is_int64() ? size->get_int64()
                     : size->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)
                         ? INT64_MAX
                         : static_cast<std::int64_t>(size->get_uint64());
    if (n < 0) return c->fail(make_error(Errc::kInvalidArgument, "size: must be >= 0"));
    files.create_upload(c->actor(), std::move(*name), n,
                        [c, &files](core::Result<store::PendingUpload> u) {
                          if (c->failed(u)) return;
                          reply_upload(c, files, 201, *u,
                                       {{"Location", std::string(kUploadPath) + "/" +
                                                         core::id_to_string(u->id)}});
                        });
  });
  // GET (and HEAD, through the GET route): the acknowledged offset.
  d.add("GET", std::string(kUploadPath) + "/{id}", Access::kAuthenticated, [&files](CallPtr c) {
    auto id = core::parse_id(c->param("id"));
    if (!id) return c->fail(make_error(Errc::kNotFound, "upload not found"));
    files.upload_status(c->actor(), *id, [c, &files](core::Result<store::PendingUpload> u) {
      if (c->failed(u)) return;
      reply_upload(c, files, 200, *u);
    });
  });
  d.add("PATCH", std::string(kUploadPath) + "/{id}", Access::kAuthenticated, [&files](CallPtr c) {
    auto id = core::parse_id(c->param("id"));
    if (!id) return c->fail(make_error(Errc::kNotFound, "upload not found"));
    auto offset = parse_upload_offset(c->request().header("upload-offset"));
    if (!offset) {
      return c->fail(make_error(Errc::kInvalidArgument,
                                "Upload-Offset: required, the decimal offset this chunk starts at"));
    }
    const Id upload = *id;
    auto answer = [c, &files, upload](core::Result<store::PendingUpload> u) {
      if (!u) return fail_upload(c, files, upload, u.take_error());
      reply_upload(c, files, 200, *u);
    };
    const std::string& path = c->request().body_file;
    if (path.empty()) return files.check_append(c->actor(), upload, *offset, 0, std::move(answer));
    files.append(c->actor(), upload, *offset, path, std::move(answer));
  });
  d.add("POST", std::string(kUploadPath) + "/{id}/complete", Access::kAuthenticated,
        [&files](CallPtr c) {
          auto id = core::parse_id(c->param("id"));
          if (!id) return c->fail(make_error(Errc::kNotFound, "upload not found"));
          const Id upload = *id;
          files.complete(c->actor(), upload, [c, &files, upload](core::Result<files::Completed> r) {
            if (!r) return fail_upload(c, files, upload, r.take_error());
            boost::json::object o;
            o["attachment"] = api::to_json(r->attachment);
            c->reply_json(r->again ? 200 : 201, o);
          });
        });
  d.add("DELETE", std::string(kUploadPath) + "/{id}", Access::kAuthenticated, [&files](CallPtr c) {
    auto id = core::parse_id(c->param("id"));
    if (!id) return c->fail(make_error(Errc::kNotFound, "upload not found"));
    files.cancel_upload(c->actor(), *id, [c](core::Result<core::Ok> r) {
      if (c->failed(r)) return;
      c->reply_empty(204);
    });
  });
}

void admit_upload(files::FileService& files, auth::RateLimiter& limiter, CallPtr c,
                  std::function<void()> admit) {
  if (auto st = limiter.try_acquire(core::id_to_string(c->actor().user_id)); !st) {
    return c->fail(st.error());
  }
  // The declared length: Content-Length, absent for a chunked body (checked as it arrives).
  std::optional<std::int64_t> length;
  if (auto v = c->request().header("content-length"); !v.empty()) length = parse_upload_offset(v);
  const Request& r = c->request();
  if (r.method == "POST") {
    if (!length) return admit();
    return files.check_upload(c->actor(), *length, [c, admit](core::Result<core::Ok> ok) {
      if (c->failed(ok)) return;
      admit();
    });
  }
  // PATCH /api/v1/uploads/{id}
  auto id = core::parse_id(c->param("id"));
  if (!id) return c->fail(make_error(Errc::kNotFound, "upload not found"));
  auto offset = parse_upload_offset(r.header("upload-offset"));
  if (!offset) {
    return c->fail(make_error(Errc::kInvalidArgument,
                              "Upload-Offset: required, the decimal offset this chunk starts at"));
  }
  const Id upload = *id;
  files.check_append(c->actor(), upload, *offset, length.value_or(0),
                     [c, &files, upload, admit](core::Result<store::PendingUpload> u) {
                       if (!u) return fail_upload(c, files, upload, u.take_error());
                       admit();
                     });
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
  add_resumable_routes(d, files);
  add_download(d, files, "/api/v1/attachments/{id}", files::Rendition::kOriginal);
  add_download(d, files, "/api/v1/attachments/{id}/thumbnail", files::Rendition::kThumbnail);
  add_download(d, files, "/api/v1/attachments/{id}/preview", files::Rendition::kPreview);
}

}  // namespace parley::http
