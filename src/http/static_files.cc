#include "http/static_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "http/middleware.h"

namespace parley::http {

namespace fs = std::filesystem;

namespace {

using core::Errc;
using core::make_error;

struct FileInfo {
  bool regular = false;
  bool directory = false;
  std::int64_t mtime = 0;
  std::uintmax_t size = 0;
};

FileInfo stat_file(const fs::path& p) {
  FileInfo info;
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec) return info;
  info.directory = fs::is_directory(st);
  info.regular = fs::is_regular_file(st);
  if (info.regular) {
    info.size = fs::file_size(p, ec);
    if (ec) info.regular = false;
    auto t = fs::last_write_time(p, ec);
    if (!ec) info.mtime = t.time_since_epoch().count();
  }
  return info;
}

std::string hex(std::uint64_t v) {
  std::ostringstream o;
  o << std::hex << v;
  return o.str();
}

// Whether the Accept-Encoding header accepts `coding` (q=0 means "not acceptable").
bool accepts_encoding(std::string_view header, std::string_view coding) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    auto semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == coding) {
      if (semi == std::string_view::npos) return true;
      std::string params(item.substr(semi + 1));
      params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
      return !(params.rfind("q=0", 0) == 0 && params.find_first_of("123456789") == std::string::npos);
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool within(const std::string& root, const std::string& path) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

}  // namespace

StaticFiles::StaticFiles(StaticFilesConfig config) : config_(std::move(config)) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(config_.root), ec);
  canonical_root_ = ec ? config_.root : root.string();
  while (canonical_root_.size() > 1 && canonical_root_.back() == '/') canonical_root_.pop_back();
}

std::string_view StaticFiles::content_type(std::string_view name) {
  auto dot = name.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"avif", "image/avif"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
      {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},
      {"wav", "audio/wav"},
  };
  for (const auto& [e, t] : kTypes) {
    if (e == ext) return t;
  }
  return "application/octet-stream";
}

bool StaticFiles::is_hashed_asset(std::string_view rel) {
  if (rel.rfind("assets/", 0) != 0 && rel.rfind("/assets/", 0) != 0) return false;
  std::string_view name = rel.substr(rel.rfind('/') + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string_view stem = name.substr(0, dot);
  auto sep = stem.find_last_of("-.");
  if (sep == std::string_view::npos) return false;
  std::string_view hash = stem.substr(sep + 1);
  // Vite's default hash is 8 base64url characters; accept 8..64 so other bundlers work too.
  if (hash.size() < 8 || hash.size() > 64) return false;
  return std::all_of(hash.begin(), hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::shared_ptr<const std::string> StaticFiles::load(const std::string& path, std::int64_t mtime,
                                                     std::uintmax_t size) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.mtime == mtime && it->second.size == size) {
      return it->second.data;
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  auto data = std::make_shared<std::string>();
  data->resize(size);
  in.read(data->data(), static_cast<std::streamsize>(size));
  data->resize(static_cast<std::size_t>(in.gcount()));
  std::shared_ptr<const std::string> result = std::move(data);
  if (result->size() <= config_.max_cached_file) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end()) {
      cached_bytes_ -= it->second.data->size();
      cache_.erase(it);
    }
    if (cached_bytes_ + result->size() > config_.cache_bytes) {
      // Simple and bounded: a web client's assets fit many times over; resetting is rare.
      cache_.clear();
      cached_bytes_ = 0;
    }
    cache_[path] = Blob{mtime, size, result};
    cached_bytes_ += result->size();
  }
  return result;
}

core::Result<Response> StaticFiles::serve(const Request& req, std::string_view raw_path) {
  auto decoded = percent_decode(raw_path, false);
  if (!decoded) return make_error(Errc::kInvalidArgument, "malformed path");
  const std::string& path = *decoded;
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos ||
      path.find('\\') != std::string::npos) {
    return make_error(Errc::kInvalidArgument, "malformed path");
  }
  // An encoded slash changes the segmentation after decoding: refuse rather than guess.
  if (raw_path.find("%2f") != std::string_view::npos ||
      raw_path.find("%2F") != std::string_view::npos) {
    return make_error(Errc::kInvalidArgument, "malformed path");
  }
  std::vector<std::string_view> segments;
  std::string_view rest(path);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg == ".." || seg == ".") return make_error(Errc::kInvalidArgument, "malformed path");
    if (!seg.empty()) segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  bool hidden = std::any_of(segments.begin(), segments.end(),
                            [](std::string_view s) { return s.front() == '.'; });
  if (hidden) return make_error(Errc::kNotFound, "not found");

  std::string rel;
  for (auto s : segments) {
    if (!rel.empty()) rel.push_back('/');
    rel.append(s);
  }
  if (rel.empty()) rel = "index.html";
  fs::path root(canonical_root_);
  fs::path file = root / rel;
  FileInfo info = stat_file(file);
  if (!info.regular) {
    bool has_extension = !segments.empty() && segments.back().find('.') != std::string_view::npos;
    if (has_extension) return make_error(Errc::kNotFound, "not found");
    rel = "index.html";  // single-page app: the client routes this path
    file = root / rel;
    info = stat_file(file);
    if (!info.regular) return make_error(Errc::kNotFound, "not found");
  }
  // Symlinks must not lead out of the root.
  std::error_code ec;
  fs::path real = fs::canonical(file, ec);
  if (ec || !within(canonical_root_, real.string())) return make_error(Errc::kNotFound, "not found");

  std::string_view accept = req.header("accept-encoding");
  std::string chosen = real.string();
  std::string encoding;
  FileInfo chosen_info = info;
  for (std::string_view coding : {std::string_view("br"), std::string_view("gzip")}) {
    if (!accepts_encoding(accept, coding)) continue;
    std::string candidate = real.string() + (coding == "br" ? ".br" : ".gz");
    FileInfo ci = stat_file(candidate);
    if (!ci.regular) continue;
    fs::path creal = fs::canonical(candidate, ec);
    if (ec || !within(canonical_root_, creal.string())) continue;
    chosen = creal.string();
    chosen_info = ci;
    encoding = std::string(coding);
    break;
  }

  Response r;
  std::string etag = "\"" + hex(chosen_info.size) + "-" +
                     hex(static_cast<std::uint64_t>(chosen_info.mtime)) +
                     (encoding.empty() ? "" : "-" + encoding) + "\"";
  r.headers.emplace_back("Content-Type", std::string(content_type(rel)));
  if (is_hashed_asset(rel)) {
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    r.headers.emplace_back("Cache-Control", "no-cache");
  }
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (!encoding.empty()) r.headers.emplace_back("Content-Encoding", encoding);

  std::string_view inm = req.header("if-none-match");
  if (!inm.empty() && (inm == etag || inm == "W/" + etag || inm == "*")) {
    r.status = 304;
    return r;
  }
  auto data = load(chosen, chosen_info.mtime, chosen_info.size);
  if (!data) return make_error(Errc::kNotFound, "not found");
  r.status = 200;
  r.body = *data;
  return r;
}

}  // namespace parley::http
