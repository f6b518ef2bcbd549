// bench/search_bench.cc: `parley-search-bench`, full-text search on a large store (issue 4).
//
// 1. Generates a store (unless --dir already holds one made by this program): users, group
//    rooms and DMs, then --messages messages appended through Store::append_message, the path
//    every send takes (FTS index maintained by its triggers), pipelined so the writer
//    group-commits them (synchronous=normal while generating, as a bulk load would). Bodies are
//    5-30 words drawn from a Zipf-distributed vocabulary of --vocabulary words (natural text has
//    this shape: a few very common words, a long tail of rare ones); one in 20 has a link.
//    Message times are spread evenly over one year, so date filters cut real slices. Since
//    decision 0017: one in 50 carries a file (a quarter of them images; the other files have
//    a name and 200 words of extracted text, stored through Store::set_blob_text as the
//    extractor would), one in 10 is a thread reply (to its room's latest root), one in 30
//    mentions a member by name and one in 200 says @room.
// 2. Runs --queries searches through chat::SearchService (query parser, name resolution, store
//    reader threads: what GET /api/v1/search runs, minus HTTP) from --concurrency closed-loop
//    workers, each a random user searching a query drawn from a fixed mix of typical queries
//    (below), and reports queries per second and latency percentiles per query kind and
//    overall, as one JSON object on stdout.
//
// Threading: the main thread generates and then waits; workers are callbacks chained on the
// store's reader threads (each completion issues that worker's next query).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chat/search_service.h"
#include "core/clock.h"
#include "core/id.h"
#include "stats.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::bench {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using core::Id;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  int messages = 1'000'000;
  int users = 2000;
  int groups = 300;
  int group_size = 40;
  int dms = 2000;
  int vocabulary = 30000;
  int queries = 20000;
  int concurrency = 4;
  int readers = 4;
  int in_flight = 4096;
  std::uint64_t seed = 7;
};

// Deterministic pronounceable words, one per rank (rank 0 is the most frequent): 1 syllable
// for the 184 most frequent, then 2, then 3. A syllable is onset + vowel, so a word splits
// into syllables one way only and different ranks never give the same word.
std::string word_of(int rank) {
  static const char* kOnsets[] = {"b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r",
                                  "s", "t", "v", "w", "br", "st", "tr", "pl", "gr", "sh", "ch"};
  static const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou", "ea"};
  constexpr int kPerSyllable = 23 * 8;
  int n = rank, syllables = 1;
  if (n >= kPerSyllable) {
    n -= kPerSyllable;
    syllables = 2;
    if (n >= kPerSyllable * kPerSyllable) {
      n -= kPerSyllable * kPerSyllable;
      syllables = 3;
    }
  }
  std::string w;
  for (int i = 0; i < syllables; ++i) {
    w += kOnsets[n % 23];
    n /= 23;
    w += kVowels[n % 8];
    n /= 8;
  }
  return w;
}

// Zipf(s = 1) sampler over [0, n) by inverse CDF on precomputed cumulative weights.
class Zipf {
 public:
  explicit Zipf(int n) : cdf_(static_cast<std::size_t>(n)) {
    double sum = 0;
    for (int i = 0; i < n; ++i) cdf_[static_cast<std::size_t>(i)] = (sum += 1.0 / (i + 1));
    for (double& c : cdf_) c /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

template <class T>
core::Result<T> wait_for(std::function<void(store::Callback<T>)> start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<core::Result<T>> out;
  start([&](core::Result<T> r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

// Pipelines up to `limit` store calls; wait() blocks until all have completed.
class Pipeline {
 public:
  explicit Pipeline(int limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ < limit_; });
    ++outstanding_;
  }
  void release(bool ok) {
    std::lock_guard lock(mu_);
    --outstanding_;
    if (!ok) ++failures_;
    cv_.notify_all();
  }
  int wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int limit_;
  int outstanding_ = 0;
  int failures_ = 0;
};

struct World {
  std::vector<Id> user_ids;
  std::vector<Id> group_ids;
  std::vector<std::vector<int>> group_members;  // indexes into user_ids
  std::vector<std::vector<int>> rooms_of_user;  // group indexes
};

std::string group_name(int g) { return "room" + std::to_string(g); }
std::string user_name(int u) { return "u" + std::to_string(u); }

// Membership is a pure function of the options, so a reused store needs no metadata.
World plan_world(const Options& o) {
  World w;
  std::mt19937_64 rng(o.seed);
  w.group_members.resize(static_cast<std::size_t>(o.groups));
  w.rooms_of_user.resize(static_cast<std::size_t>(o.users));
  std::uniform_int_distribution<int> any_user(0, o.users - 1);
  for (int g = 0; g < o.groups; ++g) {
    std::vector<int>& m = w.group_members[static_cast<std::size_t>(g)];
    while (static_cast<int>(m.size()) < std::min(o.group_size, o.users)) {
      int u = any_user(rng);
      if (std::find(m.begin(), m.end(), u) == m.end()) m.push_back(u);
    }
    for (int u : m) w.rooms_of_user[static_cast<std::size_t>(u)].push_back(g);
  }
  return w;
}

int generate(store::SqliteStore& s, const Options& o, World& w) {
  core::ManualClock clock(1'767'225'600'000 - 365LL * 86'400'000);  // a year up to 2026-01-01
  core::IdGenerator ids(clock, 1);
  std::mt19937_64 rng(o.seed + 1);
  Pipeline pipe(o.in_flight);
  auto t0 = Clock::now();
  for (int u = 0; u < o.users; ++u) {
    store::NewUser nu;
    nu.id = ids.next();
    nu.username = user_name(u);
    nu.display_name = "User " + std::to_string(u);
    nu.password_hash = "$argon2id$bench";
    nu.created_at = clock.now_ms();
    w.user_ids.push_back(nu.id);
    pipe.acquire();
    s.create_user(nu, [&](core::Result<core::User> r) { pipe.release(r.ok()); });
  }
  if (pipe.wait() != 0) return 1;
  std::vector<Id> room_ids;
  std::vector<std::vector<int>> room_members;
  for (int g = 0; g < o.groups; ++g) {
    store::NewGroupRoom r;
    r.id = ids.next();
    r.name = group_name(g);
    const auto& m = w.group_members[static_cast<std::size_t>(g)];
    r.created_by = w.user_ids[static_cast<std::size_t>(m[0])];
    for (std::size_t i = 1; i < m.size(); ++i) r.member_ids.push_back(w.user_ids[static_cast<std::size_t>(m[i])]);
    r.created_at = clock.now_ms();
    w.group_ids.push_back(r.id);
    room_ids.push_back(r.id);
    room_members.push_back(m);
    pipe.acquire();
    s.create_group_room(r, [&](core::Result<core::Room> x) { pipe.release(x.ok()); });
  }
  std::uniform_int_distribution<int> any_user(0, o.users - 1);
  for (int d = 0; d < o.dms; ++d) {
    int a = any_user(rng), b = any_user(rng);
    if (a == b) continue;
    Id id = ids.next();
    auto res = wait_for<store::DmResult>([&](auto done) {
      s.get_or_create_dm(w.user_ids[static_cast<std::size_t>(a)],
                         w.user_ids[static_cast<std::size_t>(b)], id, clock.now_ms(), done);
    });
    if (!res) return 1;
    if (res->created) {
      room_ids.push_back(res->room.id);
      room_members.push_back({a, b});
    }
  }
  if (pipe.wait() != 0) return 1;
  std::fprintf(stderr, "users, %zu rooms: %.1f s\n", room_ids.size(),
               std::chrono::duration<double>(Clock::now() - t0).count());

  Zipf words(o.vocabulary);
  Zipf rooms(static_cast<int>(room_ids.size()));  // a few busy rooms, many quiet ones
  std::vector<std::size_t> room_order(room_ids.size());
  std::iota(room_order.begin(), room_order.end(), 0);
  std::shuffle(room_order.begin(), room_order.end(), rng);
  std::uniform_int_distribution<int> length(5, 30);
  const std::int64_t step_ms = 365LL * 86'400'000 / o.messages;
  std::vector<Id> last_root(room_ids.size(), 0);
  auto t1 = Clock::now();
  for (int i = 0; i < o.messages; ++i) {
    clock.advance_ms(step_ms);
    std::size_t r = room_order[static_cast<std::size_t>(rooms(rng))];
    const auto& members = room_members[r];
    auto member = [&] {
      return members[std::uniform_int_distribution<std::size_t>(0, members.size() - 1)(rng)];
    };
    store::NewMessage m;
    m.id = ids.next();
    m.room_id = room_ids[r];
    m.sender_id = w.user_ids[static_cast<std::size_t>(member())];
    m.client_txn_id = "b" + std::to_string(i);
    int n = length(rng);
    for (int k = 0; k < n; ++k) {
      if (k) m.body += ' ';
      m.body += word_of(words(rng));
    }
    if (i % 20 == 0) m.body += " https://example.org/" + word_of(words(rng));
    const bool with_file = i % 50 == 25;
    if (i % 10 == 3 && last_root[r] != 0) {
      m.thread_root = last_root[r];
    } else if (!with_file) {  // appended later (after its file): not a root others reply to
      last_root[r] = m.id;
    }
    core::Mentions mentions;
    if (i % 30 == 7) {
      int u = member();
      mentions.user_ids.push_back(w.user_ids[static_cast<std::size_t>(u)]);
      m.body += " @" + user_name(u);
    }
    if (i % 200 == 11) {
      mentions.room = true;
      m.body += " @room";
    }
    if (!mentions.empty()) {
      m.content.compose = [mentions](const store::ContentLookup&) -> core::Result<store::MessageContent> {
        return store::MessageContent{"", mentions};
      };
    }
    m.created_at = clock.now_ms();
    pipe.acquire();
    if (with_file) {
      // A file first (an upload), its text if it has one, then the message carrying it.
      store::NewAttachment a;
      a.attachment.id = ids.next();
      a.attachment.uploader_id = m.sender_id;
      char sha[65];
      std::snprintf(sha, sizeof sha, "%016llx%048d", static_cast<unsigned long long>(a.attachment.id), 0);
      a.attachment.sha256 = sha;
      a.attachment.size = 1000;
      a.attachment.created_at = m.created_at;
      const bool image = (i / 50) % 4 == 0;
      a.attachment.kind = image ? core::AttachmentKind::kImage : core::AttachmentKind::kFile;
      a.attachment.mime = image ? "image/jpeg" : "text/plain";
      a.attachment.name = word_of(words(rng)) + "-" + word_of(words(rng)) + (image ? ".jpg" : ".txt");
      std::string text;
      if (!image) {
        for (int k = 0; k < 200; ++k) text += word_of(words(rng)) + (k % 12 == 11 ? "\n" : " ");
      }
      m.attachment_ids = {a.attachment.id};
      auto msg = std::make_shared<store::NewMessage>(std::move(m));
      auto append = [&s, &pipe, msg] {
        s.append_message(std::move(*msg), [&pipe](core::Result<store::AppendResult> x) { pipe.release(x.ok()); });
      };
      s.create_attachment(std::move(a), [&s, &pipe, append, text = std::move(text), sha = std::string(sha),
                                         at = msg->created_at](core::Result<core::Attachment> x) {
        if (!x) return pipe.release(false);
        if (text.empty()) return append();
        s.set_blob_text(store::BlobText{sha, text, store::BlobTextStatus::kExtracted, at},
                        [&pipe, append](core::Result<std::int64_t> t) {
                          if (!t) return pipe.release(false);
                          append();
                        });
      });
      continue;
    }
    s.append_message(std::move(m), [&](core::Result<store::AppendResult> x) { pipe.release(x.ok()); });
    if ((i + 1) % 100000 == 0) {
      std::fprintf(stderr, "%d messages: %.1f s\n", i + 1,
                   std::chrono::duration<double>(Clock::now() - t1).count());
    }
  }
  if (pipe.wait() != 0) return 1;
  std::fprintf(stderr, "%d messages appended in %.1f s\n", o.messages,
               std::chrono::duration<double>(Clock::now() - t1).count());
  return 0;
}

// The query mix: what people type into a chat search box, by kind.
struct QueryKind {
  std::string name;
  int weight;
};
const std::vector<QueryKind> kMix = {
    {"common_word", 15},        // a word among the 50-300 most frequent
    {"mid_word", 20},           // ranks 1,000-5,000
    {"rare_word", 10},          // ranks 10,000+
    {"two_words", 15},          // a mid word and a common one
    {"phrase", 10},             // two mid words in quotes
    {"prefix", 10},             // 3-letter prefix of a mid word
    {"word_from_user", 5},      // mid word from:@user (a member of one of the searcher's rooms)
    {"word_in_room", 5},        // mid word in:#room (one of the searcher's rooms)
    {"word_recent", 5},         // mid word, sort=recent
    {"word_during_month", 3},   // mid word during:2025-MM
    {"filters_only", 2},        // from:@user in:#room, no word
    // Decision 0017's operators.
    {"word_has_file", 3},       // mid word has:file (in a body, a file name or a file's text)
    {"has_image", 2},           // has:image alone
    {"word_is_thread", 2},      // mid word is:thread
    {"mentions_me", 2},         // mentions:me alone
};

struct Query {
  std::size_t kind;
  int user;
  std::string q;
  store::SearchOrder order = store::SearchOrder::kRelevance;
};

Query make_query(const Options& o, const World& w, std::mt19937_64& rng,
                 std::discrete_distribution<std::size_t>& pick) {
  Query q;
  q.kind = pick(rng);
  // A searcher in at least one group room.
  do {
    q.user = std::uniform_int_distribution<int>(0, o.users - 1)(rng);
  } while (w.rooms_of_user[static_cast<std::size_t>(q.user)].empty());
  auto rank = [&](int lo, int hi) {
    return word_of(std::uniform_int_distribution<int>(lo, std::min(hi, o.vocabulary - 1))(rng));
  };
  const auto& mine = w.rooms_of_user[static_cast<std::size_t>(q.user)];
  int g = mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng)];
  const auto& members = w.group_members[static_cast<std::size_t>(g)];
  int peer = members[std::uniform_int_distribution<std::size_t>(0, members.size() - 1)(rng)];
  const std::string& k = kMix[q.kind].name;
  if (k == "common_word") q.q = rank(50, 300);
  else if (k == "mid_word") q.q = rank(1000, 5000);
  else if (k == "rare_word") q.q = rank(10000, o.vocabulary);
  else if (k == "two_words") q.q = rank(1000, 5000) + " " + rank(50, 300);
  else if (k == "phrase") q.q = "\"" + rank(1000, 5000) + " " + rank(1000, 5000) + "\"";
  else if (k == "prefix") q.q = rank(1000, 5000).substr(0, 3) + "*";
  else if (k == "word_from_user") q.q = rank(1000, 5000) + " from:@" + user_name(peer);
  else if (k == "word_in_room") q.q = rank(1000, 5000) + " in:#" + group_name(g);
  else if (k == "word_recent") {
    q.q = rank(1000, 5000);
    q.order = store::SearchOrder::kRecent;
  } else if (k == "word_during_month") {
    char month[16];
    std::snprintf(month, sizeof month, "2025-%02d", std::uniform_int_distribution<int>(1, 12)(rng));
    q.q = rank(1000, 5000) + " during:" + month;
  } else if (k == "word_has_file") {
    q.q = rank(1000, 5000) + " has:file";
  } else if (k == "has_image") {
    q.q = "has:image";
  } else if (k == "word_is_thread") {
    q.q = rank(1000, 5000) + " is:thread";
  } else if (k == "mentions_me") {
    q.q = "mentions:me";
  } else {
    q.q = "from:@" + user_name(peer) + " in:#" + group_name(g);
  }
  return q;
}

int run(const Options& o) {
  fs::path dir = o.dir.empty() ? fs::temp_directory_path() / "parley-search-bench" : fs::path(o.dir);
  fs::create_directories(dir);
  fs::path db = dir / "parley.db";
  fs::path done_marker = dir / "generated.json";
  World w = plan_world(o);
  const bool reuse = fs::exists(done_marker);
  double generate_s = 0;
  {
    store::SqliteConfig cfg;
    cfg.path = db.string();
    cfg.synchronous = "normal";
    cfg.read_connections = o.readers;
    cfg.max_batch = 4096;
    cfg.max_queue = static_cast<std::size_t>(o.in_flight) * 2;
    if (!reuse) {
      fs::remove(db);
      fs::remove(dir / "parley.db-wal");
      fs::remove(dir / "parley.db-shm");
      auto s = store::SqliteStore::open(cfg, nullptr);
      if (!s) {
        std::cerr << s.error().message << "\n";
        return 1;
      }
      auto t0 = Clock::now();
      if (generate(**s, o, w) != 0) {
        std::cerr << "generation failed\n";
        return 1;
      }
      generate_s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::ofstream(done_marker) << "{\"messages\": " << o.messages << ", \"seconds\": " << generate_s << "}\n";
    }
  }
  // Reopen (as a restarted server would) with the default synchronous setting.
  store::SqliteConfig cfg;
  cfg.path = db.string();
  cfg.read_connections = o.readers;
  auto opened = store::SqliteStore::open(cfg, nullptr);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  store::SqliteStore& s = **opened;
  if (w.user_ids.empty()) {
    for (int u = 0; u < o.users; ++u) {
      auto user = wait_for<core::User>([&](auto done) { s.user_by_username(user_name(u), done); });
      if (!user) return 1;
      w.user_ids.push_back(user->id);
    }
  }
  core::SystemClock clock;
  chat::SearchService search({s, clock}, chat::SearchConfig{1e9, 1e9});

  std::vector<int> weights;
  for (const auto& k : kMix) weights.push_back(k.weight);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  std::mt19937_64 rng(o.seed + 2);
  std::vector<Query> queries;
  for (int i = 0; i < o.queries; ++i) queries.push_back(make_query(o, w, rng, pick));

  std::vector<LatencyHistogram> per_kind(kMix.size());
  LatencyHistogram all;
  std::vector<std::atomic<std::int64_t>> hits(kMix.size());
  std::atomic<int> next{0}, errors{0}, finished{0};
  std::mutex mu;
  std::condition_variable cv;
  std::function<void()> issue = [&] {
    int i = next.fetch_add(1);
    if (i >= o.queries) {
      std::lock_guard lock(mu);
      ++finished;
      cv.notify_all();
      return;
    }
    const Query& q = queries[static_cast<std::size_t>(i)];
    auth::Actor who{w.user_ids[static_cast<std::size_t>(q.user)], core::Role::kUser, 0, user_name(q.user)};
    chat::SearchRequest req;
    req.q = q.q;
    req.order = q.order;
    req.limit = 20;
    auto start = Clock::now();
    search.search(who, req, [&, start, kind = q.kind](core::Result<chat::SearchResult> r) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
      per_kind[kind].record_us(us);
      all.record_us(us);
      if (!r) {
        if (errors.fetch_add(1) < 5) std::cerr << "error: " << r.error().message << "\n";
      } else {
        hits[kind] += static_cast<std::int64_t>(r->hits.size());
      }
      issue();
    });
  };
  auto t0 = Clock::now();
  for (int c = 0; c < o.concurrency; ++c) issue();
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished.load() == o.concurrency; });
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  auto ms = [](std::int64_t us) { return static_cast<double>(us) / 1000.0; };
  json::object report;
  report["messages"] = o.messages;
  report["users"] = o.users;
  report["groups"] = o.groups;
  report["group_size"] = o.group_size;
  report["db_bytes"] = static_cast<std::int64_t>(fs::file_size(db));
  report["generated_seconds"] = generate_s;
  report["queries"] = o.queries;
  report["concurrency"] = o.concurrency;
  report["readers"] = o.readers;
  report["errors"] = errors.load();
  report["seconds"] = secs;
  report["qps"] = o.queries / secs;
  report["p50_ms"] = ms(all.percentile_us(0.50));
  report["p90_ms"] = ms(all.percentile_us(0.90));
  report["p99_ms"] = ms(all.percentile_us(0.99));
  report["max_ms"] = ms(all.max_us());
  json::object kinds;
  for (std::size_t k = 0; k < kMix.size(); ++k) {
    json::object x;
    x["count"] = per_kind[k].count();
    x["avg_hits"] = per_kind[k].count() ? static_cast<double>(hits[k]) / per_kind[k].count() : 0.0;
    x["p50_ms"] = ms(per_kind[k].percentile_us(0.50));
    x["p99_ms"] = ms(per_kind[k].percentile_us(0.99));
    x["max_ms"] = ms(per_kind[k].max_us());
    kinds[kMix[k].name] = std::move(x);
  }
  report["by_kind"] = std::move(kinds);
  std::cout << json::serialize(report) << std::endl;
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  parley::bench::Options o;
  CLI::App app{"parley-search-bench: search on a large generated store (bench/README.md)"};
  app.add_option("--dir", o.dir, "Data directory (generated once, reused when it holds a store)");
  app.add_option("--messages", o.messages, "Messages to generate");
  app.add_option("--users", o.users, "Users");
  app.add_option("--groups", o.groups, "Group rooms");
  app.add_option("--group-size", o.group_size, "Members per group room");
  app.add_option("--dms", o.dms, "DM pairs attempted");
  app.add_option("--vocabulary", o.vocabulary, "Distinct words (Zipf-distributed)");
  app.add_option("--queries", o.queries, "Searches to run");
  app.add_option("--concurrency", o.concurrency, "Searches in flight (closed loop)");
  app.add_option("--readers", o.readers, "Store reader threads");
  app.add_option("--in-flight", o.in_flight, "Appends outstanding while generating");
  app.add_option("--seed", o.seed, "Random seed (the same seed makes the same store)");
  CLI11_PARSE(app, argc, argv);
  return parley::bench::run(o);
}
