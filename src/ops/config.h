// ops/config.h: Parley's typed configuration. Sources, later ones winning:
//   defaults (below) < TOML file (--config) < PARLEY_* environment < command-line flags.
// A secret may be given as PARLEY_<NAME>_FILE=<path> (the file's content, trimmed).
// load_config() validates everything; a bad setting is an error naming the setting, and
// `parley serve` stops at start-up with that message.
//
// TOML keys are "<section>.<field>" (e.g. [http] port = 8080); environment names are
// PARLEY_<SECTION>_<FIELD> upper-cased (e.g. PARLEY_HTTP_PORT); flags are --<section>.<field>.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth/auth_service.h"
#include "core/result.h"

namespace parley::ops {

struct HttpConfig {
  std::string bind = "127.0.0.1";          // listen address
  int port = 8080;                         // 0 = any free port (printed at start-up)
  int threads = 0;                         // network threads; 0 = number of cores
  std::size_t max_body_bytes = 1 << 20;    // REST request bodies over this: 413
  int request_timeout_ms = 30000;          // a request must arrive whole within this
  std::vector<std::string> allowed_origins;  // extra Origins allowed for cookie mutations
  std::string web_root;                    // directory of the built web client; "" = none
  std::string public_url;                  // e.g. https://chat.example.com; "" = derive
};

struct GatewayConfig {
  int heartbeat_ms = 30000;                // told to clients in `hello`
  int identify_timeout_ms = 10000;         // no identify within this: close 4003
  std::size_t max_frame_bytes = 64 * 1024; // inbound frame cap: close 4002... see protocol.md
  std::size_t outbound_queue_bytes = 1 << 20;  // slow consumer above this: close 4010
  double frames_per_second = 20;           // per-connection inbound rate (token bucket)
  double burst_frames = 40;
  int replay_cap = 500;                    // resume replays at most this many events per room
  std::int64_t presence_idle_ms = 300000;  // a connection silent (but for pings) this long is idle:
                                           // its user shows `away` when all their connections are
};

struct StoreConfig {
  std::string data_dir = "./data";         // SQLite database and blobs live here
  std::string synchronous = "full";        // full | normal (normal risks the last commits on power loss)
  int read_connections = 4;
  int max_batch = 512;                     // most requests in one group commit
};

// Attachments (issue 4): uploads, type allowlist, image processing, sweeping. Blobs live in
// <store.data_dir>/blobs.
struct FilesConfig {
  std::int64_t max_upload_bytes = 100LL << 20;  // one file; larger uploads get 413 too_large
  std::int64_t quota_bytes = 1LL << 30;         // per user, all their attachments; 0 = unlimited
  // Detected (libmagic) types accepted; "type/*" matches a whole family. Anything else: 415.
  std::vector<std::string> allowed_types = {
      "image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm",
      "video/quicktime", "audio/mpeg", "audio/ogg", "audio/x-wav", "audio/wav", "audio/flac",
      "audio/mp4", "application/pdf", "text/plain", "text/csv", "application/json",
      "application/zip", "application/gzip", "application/x-tar", "application/x-7z-compressed",
      "application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
      "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"};
  std::int64_t max_image_pixels = 40'000'000;   // width x height; more is refused (decompression bombs)
  int thumbnail_px = 320;                       // thumbnail fits in this square (WebP)
  int preview_px = 1280;                        // preview fits in this square (WebP)
  int workers = 2;                              // threads hashing, detecting, re-encoding
  int max_queue = 64;                           // uploads waiting for a worker; more: 503
  std::int64_t unsent_ttl_ms = 24LL * 3600 * 1000;  // uploads never sent are deleted after this
  std::int64_t sweep_interval_ms = 10LL * 60 * 1000; // how often unsent uploads and unreferenced blobs are swept
  // Upload requests (one-shot uploads and resumable chunks) per user, checked before a body is
  // read: a token bucket of `upload_burst` refilled at `uploads_per_minute`; beyond: 429.
  // A 100 MiB file in 8 MiB chunks is 14 requests.
  double uploads_per_minute = 120;
  double upload_burst = 60;
  // Search in files (decision 0017): the text of text files and PDFs is indexed, once per blob,
  // by one extractor thread. PDFs through pdftotext (poppler-utils), "" = names only for PDFs.
  std::int64_t text_index_bytes = 64 * 1024;      // text kept per file; the rest is not searchable
  std::int64_t text_max_file_bytes = 32LL << 20;  // larger files: found by name only
  int text_timeout_ms = 10'000;                   // one pdftotext run; then it is killed
  std::int64_t text_memory_bytes = 512LL << 20;   // pdftotext's address space limit
  std::string pdftotext = "/usr/bin/pdftotext";
};

struct SearchConfig {
  double per_minute = 60;                  // searches per user per minute, sustained (token bucket)
  double burst = 20;                       // ... and at once; beyond: 429 rate_limited
};

struct ChatSettings {
  int mention_all_min_members = 20;        // @room/@here from this room size on: owners and
                                           // moderators only (smaller rooms: anyone)
};

struct LogConfig {
  std::string level = "info";              // trace | debug | info | warn | error
  std::string format = "json";             // json | text
};

struct Config {
  HttpConfig http;
  GatewayConfig gateway;
  StoreConfig store;
  auth::AuthConfig auth;
  FilesConfig files;
  SearchConfig search;
  ChatSettings chat;
  LogConfig log;
  int node_id = 0;                         // 0..255, part of every id this node makes
  int hasher_threads = 2;                  // argon2id workers (bounded queue in front)
  int shutdown_grace_ms = 10000;           // SIGTERM: drain this long, then close
};

// Loads and validates. `flags` are "--section.field=value" overrides already split by the CLI
// into key -> value. Errors name the setting, e.g. "http.port: must be 0..65535".
core::Result<Config> load_config(const std::string& toml_path,
                                 const std::map<std::string, std::string>& env,
                                 const std::map<std::string, std::string>& flags);

// The effective config as TOML text with secrets ("auth.invite_code") redacted.
std::string render_config(const Config& c);

}  // namespace parley::ops
