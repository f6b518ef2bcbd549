#include "chat/search_service.h"

#include <charconv>
#include <memory>
#include <utility>

#include "chat/search_query.h"

namespace parley::chat {

using core::Errc;
using core::Id;
using core::make_error;

namespace {

core::Error bad_cursor() {
  return make_error(Errc::kInvalidArgument,
                    "cursor: not a cursor of this search (use `next` from the previous page, "
                    "with the same sort)");
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url_encode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char ch : in) {
    acc = (acc << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> b64url_decode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    const char* p = ch == '\0' ? nullptr : std::char_traits<char>::find(kB64, 64, ch);
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// Resolves usernames one after another (a query names at most a few), then calls `done`.
struct NameResolution {
  store::Store& store;
  std::vector<std::string> names;
  std::vector<Id> ids;
  std::string op;  // "from" or "in", for the error message
  store::Callback<std::vector<Id>> done;

  static void next(std::shared_ptr<NameResolution> self) {
    if (self->ids.size() == self->names.size()) return self->done(std::move(self->ids));
    const std::string& name = self->names[self->ids.size()];
    self->store.user_by_username(name, [self](core::Result<core::User> u) {
      if (!u) {
        if (u.error().code != Errc::kNotFound) return self->done(u.take_error());
        return self->done(make_error(
            Errc::kInvalidArgument,
            "q: " + self->op + ":@" + self->names[self->ids.size()] + ": no such user"));
      }
      self->ids.push_back(u->id);
      next(self);
    });
  }
};

void resolve_users(store::Store& store, const auth::Actor& who, std::vector<std::string> names,
                   std::string op, store::Callback<std::vector<Id>> done) {
  std::vector<Id> ids;
  std::vector<std::string> lookup;
  for (std::string& n : names) {
    if (n == "me" && op == "from") {
      ids.push_back(who.user_id);  // from:me (from:@me is a user named "me")
    } else {
      lookup.push_back(std::move(n));
    }
  }
  auto state = std::make_shared<NameResolution>(
      NameResolution{store, std::move(lookup), {}, std::move(op),
                     [ids = std::move(ids), done = std::move(done)](
                         core::Result<std::vector<Id>> r) mutable {
                       if (!r) return done(r.take_error());
                       ids.insert(ids.end(), r->begin(), r->end());
                       done(std::move(ids));
                     }});
  NameResolution::next(std::move(state));
}

}  // namespace

std::string snippet_to_html(std::string_view snippet) {
  std::string out;
  out.reserve(snippet.size() + snippet.size() / 8 + 16);
  for (char ch : snippet) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case store::kSnippetMatchBegin: out += "<mark>"; break;
      case store::kSnippetMatchEnd: out += "</mark>"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string encode_search_cursor(store::SearchOrder order, const store::SearchCursor& c) {
  std::string raw = order == store::SearchOrder::kRelevance ? "r:" : "t:";
  if (order == store::SearchOrder::kRelevance) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, c.score);  // shortest exact form
    raw.append(buf, ec == std::errc() ? end : buf);
    raw += ':';
  }
  raw += core::id_to_string(c.message_id);
  return b64url_encode(raw);
}

std::optional<store::SearchCursor> decode_search_cursor(std::string_view s,
                                                        store::SearchOrder order) {
  if (s.size() > 128) return std::nullopt;
  auto raw = b64url_decode(s);
  if (!raw) return std::nullopt;
  std::string_view v = *raw;
  const std::string_view tag = order == store::SearchOrder::kRelevance ? "r:" : "t:";
  if (v.substr(0, 2) != tag) return std::nullopt;
  v.remove_prefix(2);
  store::SearchCursor c;
  if (order == store::SearchOrder::kRelevance) {
    std::size_t colon = v.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto [p, ec] = std::from_chars(v.data(), v.data() + colon, c.score);
    if (ec != std::errc() || p != v.data() + colon || c.score != c.score) return std::nullopt;
    v.remove_prefix(colon + 1);
  }
  auto id = core::parse_id(v);
  if (!id) return std::nullopt;
  c.message_id = *id;
  return c;
}

SearchService::SearchService(Deps deps, SearchConfig config)
    : deps_(deps),
      limiter_(deps.clock, auth::RateLimiterConfig{config.per_minute, config.burst, 100000}) {}

void SearchService::search(const auth::Actor& who, SearchRequest req,
                           store::Callback<SearchResult> done) {
  if (auto st = limiter_.try_acquire(std::to_string(who.user_id)); !st) {
    return done(st.take_error());
  }
  if (req.limit < 1 || req.limit > store::kMaxSearchLimit) {
    return done(make_error(Errc::kInvalidArgument,
                           "limit: must be 1.." + std::to_string(store::kMaxSearchLimit)));
  }
  store::SearchCursor cursor;
  if (!req.cursor.empty()) {
    auto c = decode_search_cursor(req.cursor, req.order);
    if (!c) return done(bad_cursor());
    cursor = *c;
  }
  auto parsed = parse_search_query(req.q, req.tz_offset_minutes);
  if (!parsed) return done(parsed.take_error());

  auto q = std::make_shared<store::SearchQuery>();
  q->user_id = who.user_id;
  q->terms = std::move(parsed->terms);
  q->in_groups = std::move(parsed->in_groups);
  q->has_link = parsed->has_link;
  q->has_file = parsed->has_file;
  q->has_image = parsed->has_image;
  q->is_thread = parsed->is_thread;
  q->mentions_me = parsed->mentions_me;
  q->after = parsed->after;
  q->before = parsed->before;
  q->order = req.order;
  q->cursor = cursor;
  q->limit = req.limit + 1;  // one more tells whether there is a next page
  const auto limit = static_cast<std::size_t>(req.limit);
  const store::SearchOrder order = req.order;
  auto& store = deps_.store;
  auto finish = std::make_shared<store::Callback<SearchResult>>(std::move(done));

  auto run = [&store, q, limit, order, finish] {
    store.search(*q, [limit, order, finish](core::Result<std::vector<store::SearchHit>> r) {
      if (!r) return (*finish)(r.take_error());
      SearchResult out;
      const bool more = r->size() > limit;
      if (more) r->resize(limit);
      out.hits.reserve(r->size());
      for (store::SearchHit& h : *r) {
        std::string html = snippet_to_html(h.snippet);
        out.hits.push_back(SearchResultHit{std::move(h), std::move(html)});
      }
      if (more) {
        const store::SearchHit& last = out.hits.back().hit;
        out.next = encode_search_cursor(order, store::SearchCursor{last.score, last.message.id});
      }
      (*finish)(std::move(out));
    });
  };
  resolve_users(
      store, who, std::move(parsed->from), "from",
      [&store, who, q, dms = std::move(parsed->in_dms), run, finish](
          core::Result<std::vector<Id>> from) mutable {
        if (!from) return (*finish)(from.take_error());
        q->from = std::move(from.value());
        resolve_users(store, who, std::move(dms), "in",
                      [q, run, finish](core::Result<std::vector<Id>> peers) {
                        if (!peers) return (*finish)(peers.take_error());
                        q->in_dms_with = std::move(peers.value());
                        run();
                      });
      });
}

}  // namespace parley::chat
