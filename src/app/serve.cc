// app/serve.cc: `parley serve`, the one place that wires concrete parts together:
// SQLite store, filesystem blob store, in-process bus, gateway hub, auth, chat and file
// services, REST API, HTTP server.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "app/wait.h"
#include "auth/auth_service.h"
#include "auth/password_hasher.h"
#include "blob/fs/fs_blob_store.h"
#include "bus/local/local_bus.h"
#include "chat/chat_service.h"
#include "core/clock.h"
#include "core/id.h"
#include "files/file_service.h"
#include "files/media.h"
#include "gateway/gateway.h"
#include "gateway/hub.h"
#include "http/api.h"
#include "net/server.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::app {

core::Result<ops::Config> load(const ConfigSources& src) {
  return ops::load_config(src.file, src.env, src.flags);
}

store::SqliteConfig sqlite_config(const ops::Config& config) {
  store::SqliteConfig sc;
  sc.path = (std::filesystem::path(config.store.data_dir) / "parley.db").string();
  sc.synchronous = config.store.synchronous;
  sc.read_connections = config.store.read_connections;
  sc.max_batch = config.store.max_batch;
  return sc;
}

int serve(const ops::Config& config) {
  ops::init_logging(config.log);
  ops::Registry metrics;
  core::SystemClock clock;
  core::IdGenerator ids(clock, static_cast<unsigned>(config.node_id));

  std::error_code ec;
  std::filesystem::create_directories(config.store.data_dir, ec);
  if (ec) {
    std::cerr << "parley: store.data_dir: cannot create " << config.store.data_dir << ": "
              << ec.message() << "\n";
    return 1;
  }
  auto opened = store::SqliteStore::open(sqlite_config(config), &metrics);
  if (!opened) {
    std::cerr << "parley: store: " << opened.error().message << "\n";
    return 1;
  }
  std::unique_ptr<store::SqliteStore> store = std::move(opened.value());

  bus::LocalBus bus;
  gateway::Hub hub(bus, metrics);
  auth::PasswordHasher hasher(auth::PasswordHasherConfig{.threads = config.hasher_threads});
  auth::AuthService auth_service({*store, hasher, clock, ids, hub}, config.auth);
  // Alerts (the notify module) will take mentions from here; until then nobody listens.
  chat::NullMentionSink mention_sink;
  chat::ChatService chat_service(
      {*store, hub, clock, ids, &mention_sink},
      chat::ChatConfig{.replay_cap = config.gateway.replay_cap,
                       .mention_all_min_members = config.chat.mention_all_min_members,
                       .search = {.per_minute = config.search.per_minute,
                                  .burst = config.search.burst}});
  gateway::Gateway gateway({hub, auth_service, chat_service, *store, clock, metrics},
                           config.gateway);
  auto blobs = blob::FsBlobStore::create(
      (std::filesystem::path(config.store.data_dir) / "blobs").string());
  if (!blobs) {
    std::cerr << "parley: store.data_dir: " << blobs.error().message << "\n";
    return 1;
  }
  if (auto st = files::init_media(); !st) {
    std::cerr << "parley: " << st.error().message << "\n";
    return 1;
  }
  // Resumable uploads' received bytes, beside the blob store (same filesystem: renames).
  const std::string parts_dir =
      (std::filesystem::path(config.store.data_dir) / "blobs" / "parts").string();
  std::filesystem::create_directories(parts_dir, ec);
  if (ec) {
    std::cerr << "parley: store.data_dir: cannot create " << parts_dir << ": " << ec.message()
              << "\n";
    return 1;
  }
  files::FileService file_service({*store, **blobs, clock, ids, metrics, parts_dir}, config.files);
  http::Api api({auth_service, chat_service, *store, clock, metrics, &file_service}, config.http);
  net::Server server({api, gateway, metrics}, config.http);

  server.set_shutdown_grace_ms(config.shutdown_grace_ms);
  auto port = server.listen();
  if (!port) {
    std::cerr << "parley: " << port.error().message << "\n";
    return 1;
  }
  // Tests and scripts read this line to find the port when http.port = 0.
  std::cout << "listening on http://" << config.http.bind << ":" << *port << std::endl;
  spdlog::info("parley {} serving on {}:{} with data in {}", PARLEY_VERSION, config.http.bind,
               *port, config.store.data_dir);
  server.run();  // until SIGTERM/SIGINT: drains, then returns
  // The file service's threads call the store: finish queued uploads and the sweep first.
  file_service.shutdown();
  // Finish queued store work while the services its callbacks refer to are still alive.
  store.reset();
  spdlog::info("parley stopped");
  return 0;
}

}  // namespace parley::app
