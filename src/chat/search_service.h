// chat/search_service.h: full-text search over the messages a user may read (issue 4;
// docs/search.md). Parses the query (chat/search_query.h), resolves the names in it (from:@user,
// in:@user) to users, asks the store (Store::search, which enforces who may read what: rooms
// one is in, and rooms one left up to the leave), and renders highlighted snippets as safe HTML.
//
// Bounds: a per-user token bucket (SearchConfig) refuses floods with kRateLimited; queries have
// the size limits of search_query.h; pages hold at most store::kMaxSearchLimit hits.
//
// Threading: search() returns at once and calls `done` exactly once: inline when the request is
// refused before reaching the store, else on a store thread. The store runs the query on one of
// its reader threads, never on the caller's (network) thread. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_service.h"
#include "auth/rate_limiter.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace parley::chat {

struct SearchConfig {
  double per_minute = 60;  // searches one user may run per minute, sustained
  double burst = 20;       // ... and at once (type-ahead search sends a few in a row)
};

struct SearchRequest {
  std::string q;
  store::SearchOrder order = store::SearchOrder::kRelevance;
  std::string cursor;         // `next` of the previous page; "" for the first
  int limit = 20;             // 1..store::kMaxSearchLimit
  int tz_offset_minutes = 0;  // the client's offset from UTC, for dates in the query
};

struct SearchResultHit {
  store::SearchHit hit;
  std::string snippet_html;  // the snippet HTML-escaped, matches wrapped in <mark>...</mark>
};

struct SearchResult {
  std::vector<SearchResultHit> hits;
  std::string next;  // cursor of the next page; "" when this is the last one
};

// The snippet as HTML: every character of the message escaped (&, <, >, ", '), the store's
// match marks turned into <mark> and </mark>. Pure; exposed for tests.
std::string snippet_to_html(std::string_view snippet);

// Opaque page cursors: the order they belong to, the last hit's score and message id.
std::string encode_search_cursor(store::SearchOrder order, const store::SearchCursor& c);
std::optional<store::SearchCursor> decode_search_cursor(std::string_view s,
                                                        store::SearchOrder order);

class SearchService {
 public:
  struct Deps {
    store::Store& store;
    const core::Clock& clock;
  };
  SearchService(Deps deps, SearchConfig config);

  // kInvalidArgument for a malformed query, cursor or limit (messages start with the field:
  // "q: ...", "cursor: ...", "limit: ..."); kRateLimited beyond the per-user budget.
  void search(const auth::Actor& who, SearchRequest req, store::Callback<SearchResult> done);

 private:
  Deps deps_;
  auth::RateLimiter limiter_;
};

}  // namespace parley::chat
