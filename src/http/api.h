// http/api.h: the REST API (docs/protocol.md, "REST API") and the operational endpoints, over
// plain request/response values: no Beast here, so routes compile fast and are unit testable.
//
// Threading: handle() may be called from any network thread; it returns at once and calls
// `respond` exactly once, possibly on another thread (store, hasher).
#pragma once

#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/auth_service.h"
#include "chat/chat_service.h"
#include "files/file_service.h"
#include "core/clock.h"
#include "ops/config.h"
#include "ops/metrics.h"
#include "store/store.h"

namespace parley::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // Routes with a BodySink (uploads): the body was streamed into this file instead of `body`
  // ("" when the request had no body). The transport removes the file after the response
  // unless the handler moved it away first.
  std::string body_file;
  std::string client_ip;
  bool tls = false;

  // First header with that (lower-case) name, or "".
  std::string_view header(std::string_view name) const;
};

// A response body the transport reads chunk by chunk instead of `body` (downloads): never held
// whole in memory.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Up to n bytes at `offset`; 0 or an error ends the response early (the connection closes).
  virtual core::Result<std::size_t> read(std::uint64_t offset, char* buf, std::size_t n) = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is `stream_length` bytes of `stream` from `stream_offset` (and `body`
  // is ignored); the transport sets Content-Length.
  std::shared_ptr<BodySource> stream;
  std::uint64_t stream_offset = 0;
  std::uint64_t stream_length = 0;
};

// Where a route's request body goes when it is streamed to disk (uploads).
struct BodySink {
  std::string dir;             // the transport creates its file here
  std::uint64_t max_bytes = 0; // over this: 413 too_large
};

class Api {
 public:
  struct Deps {
    auth::AuthService& auth;
    chat::ChatService& chat;
    store::Store& store;
    const core::Clock& clock;
    ops::Registry& metrics;
    files::FileService* files = nullptr;  // attachments routes; none when null
  };
  Api(Deps deps, ops::HttpConfig config);
  ~Api();

  void handle(Request req, std::function<void(Response)> respond);
  // For a request whose header has arrived: where its body should be streamed, or nullopt to
  // read it into memory (up to http.max_body_bytes) as usual.
  std::optional<BodySink> body_sink(const Request& head) const;
  // The largest body any BodySink accepts (0 = none).
  std::uint64_t max_sink_bytes() const;
  // For a request that has a BodySink, once its header has arrived and before any of its body
  // is read: credentials (401), CSRF (403), the upload rate limit (429), the quota and size
  // against the declared Content-Length (413), a chunk's offset (409). Calls `done` exactly
  // once, from any thread: nullopt to read the body, or the refusal to send instead.
  void admit(Request head, std::function<void(std::optional<Response>)> done);
  // While draining, /readyz answers 503.
  void set_draining(bool draining);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::http
