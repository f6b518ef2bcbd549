#include "auth/auth_service.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <thread>
#include <utility>

#include "auth/password_hasher.h"
#include "auth/policy.h"
#include "auth/rate_limiter.h"
#include "chat/publisher.h"
#include "core/validate.h"

namespace parley::auth {

using core::Errc;
using core::make_error;
using store::Callback;

namespace {

constexpr std::size_t kMaxDeviceBytes = 128;
constexpr std::size_t kMaxTokenBytes = 256;  // ours are 43; anything longer is not a token

core::Error invalid_credentials() {
  return make_error(Errc::kUnauthorized, "invalid username or password");
}
core::Error invalid_session() {
  return make_error(Errc::kUnauthorized, "invalid or expired session");
}

// The header promises `done` runs on a store or hasher thread, never inline in the caller.
// Errors found before any I/O are therefore delivered through a cheap store round trip.
template <class T>
void fail_later(store::Store& store, Callback<T> done, core::Error e) {
  store.ping([done = std::move(done), e = std::move(e)](core::Result<core::Ok>) mutable {
    done(std::move(e));
  });
}

// PasswordHasher answers "busy" inline on the calling thread (fail fast); bounce that case
// through the store so our own callers never see a reentrant callback.
template <class T>
std::function<void(core::Result<T>)> off_caller(store::Store& store,
                                                std::function<void(core::Result<T>)> f) {
  const auto caller = std::this_thread::get_id();
  return [&store, caller, f = std::move(f)](core::Result<T> r) mutable {
    if (std::this_thread::get_id() != caller) return f(std::move(r));
    store.ping([f = std::move(f), r = std::move(r)](core::Result<core::Ok>) mutable {
      f(std::move(r));
    });
  };
}

// The password hash never leaves the auth service.
core::User redact(core::User u) {
  u.password_hash.clear();
  return u;
}

// Constant-time comparison of two secrets of possibly different lengths.
bool secrets_equal(std::string_view a, std::string_view b) {
  unsigned char da[crypto_hash_sha256_BYTES];
  unsigned char db[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(da, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256(db, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  return sodium_memcmp(da, db, sizeof da) == 0;
}

// The device label shown in the session list: printable, valid UTF-8, at most 128 bytes.
std::string sanitize_device(std::string_view raw) {
  std::string out;
  out.reserve(std::min(raw.size(), kMaxDeviceBytes));
  const bool utf8 = core::is_valid_utf8(raw);
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) continue;   // control characters
    if (c >= 0x80 && !utf8) continue;      // keep ASCII only when the input is not UTF-8
    out.push_back(static_cast<char>(c));
  }
  if (out.size() > kMaxDeviceBytes) {
    std::size_t cut = kMaxDeviceBytes;
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  // C1 controls (U+0080..U+009F, encoded C2 80..C2 9F) are not useful in a label either.
  std::string clean;
  clean.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c == 0xC2 && i + 1 < out.size()) {
      auto n = static_cast<unsigned char>(out[i + 1]);
      if (n >= 0x80 && n <= 0x9F) {
        ++i;
        continue;
      }
    }
    clean.push_back(out[i]);
  }
  return clean;
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

core::Status validate_display_name(const std::string& name) {
  if (auto st = core::validate_text("display_name", name, core::kMaxDisplayNameBytes, false); !st) {
    return st;
  }
  if (is_blank(name)) return make_error(Errc::kInvalidArgument, "display_name: must not be empty");
  return core::ok_status();
}

// Validates a registration (self-service or by an admin) into the row to store.
core::Result<store::NewUser> validate_new_account(const RegisterRequest& req) {
  auto name = core::normalize_username(req.username);
  if (!name) return name.take_error();
  if (auto st = core::validate_password(req.password); !st) return st.take_error();
  if (auto st = core::validate_email(req.email); !st) return st.take_error();
  store::NewUser u;
  u.username = std::move(name.value());
  if (req.display_name.empty()) {
    u.display_name = u.username;
  } else {
    if (auto st = validate_display_name(req.display_name); !st) return st.take_error();
    u.display_name = req.display_name;
  }
  u.email = req.email;
  return u;
}

// Validated, then hashed on the pool, then stored. The username is checked first so that a
// taken name costs no argon2id work (the store's unique key still decides races).
void create_account(const AuthService::Deps& deps, RegisterRequest req, core::Role role,
                    Callback<core::User> done) {
  auto row = validate_new_account(req);
  if (!row) return fail_later(deps.store, std::move(done), row.take_error());
  store::NewUser nu = std::move(row.value());
  nu.id = deps.ids.next();
  nu.role = role;
  nu.created_at = deps.clock.now_ms();
  store::Store& store = deps.store;
  PasswordHasher& hasher = deps.hasher;
  std::string name = nu.username;
  store.user_by_username(
      std::move(name), [&store, &hasher, nu = std::move(nu), password = std::move(req.password),
                        done = std::move(done)](core::Result<core::User> existing) mutable {
        if (existing) return done(make_error(Errc::kConflict, "username is taken"));
        if (existing.error().code != Errc::kNotFound) return done(existing.take_error());
        hasher.hash(std::move(password),
                    off_caller<std::string>(
                        store, [&store, nu = std::move(nu), done = std::move(done)](
                                   core::Result<std::string> hash) mutable {
                          if (!hash) return done(hash.take_error());
                          nu.password_hash = std::move(hash.value());
                          store.create_user(std::move(nu),
                                            [done = std::move(done)](core::Result<core::User> u) {
                                              if (!u) return done(std::move(u));
                                              done(redact(std::move(u.value())));
                                            });
                        }));
      });
}

// Absolute expiry, or unused for longer than the idle timeout.
bool expired(const core::Session& s, std::int64_t now, const AuthConfig& config) {
  if (now >= s.expires_at) return true;
  const std::int64_t last = std::max(s.last_used, s.created_at);
  return now - last >= config.idle_timeout_ms;
}

std::string account_key(const Actor& who) {
  if (!who.username.empty()) return who.username;
  return "#" + core::id_to_string(who.user_id);
}

}  // namespace

AuthService::AuthService(Deps deps, AuthConfig config)
    : deps_(deps),
      config_(std::move(config)),
      ip_limiter_(std::make_unique<RateLimiter>(
          deps.clock, RateLimiterConfig{.per_minute = config_.ip_attempts_per_minute,
                                        .burst = config_.ip_attempts_per_minute})),
      account_limiter_(std::make_unique<RateLimiter>(
          deps.clock, RateLimiterConfig{.per_minute = config_.account_attempts_per_minute,
                                        .burst = config_.account_attempts_per_minute})) {
  if (sodium_init() < 0) std::abort();
}

AuthService::~AuthService() = default;

void AuthService::register_user(RegisterRequest req, Callback<core::User> done) {
  if (config_.registration == RegistrationMode::kClosed) {
    return fail_later(deps_.store, std::move(done),
                      make_error(Errc::kForbidden, "registration is closed"));
  }
  // Before the invite code check, so codes cannot be guessed at speed.
  if (auto st = ip_limiter_->try_acquire(req.ip); !st) {
    return fail_later(deps_.store, std::move(done), st.take_error());
  }
  if (config_.registration == RegistrationMode::kInviteOnly &&
      (config_.invite_code.empty() || !secrets_equal(req.invite_code, config_.invite_code))) {
    return fail_later(deps_.store, std::move(done),
                      make_error(Errc::kForbidden, "a valid invite code is required to register"));
  }
  create_account(deps_, std::move(req), core::Role::kUser, std::move(done));
}

void AuthService::login(LoginRequest req, Callback<LoginResult> done) {
  store::Store& store = deps_.store;
  if (auto st = ip_limiter_->try_acquire(req.ip); !st) {
    return fail_later(store, std::move(done), st.take_error());
  }
  auto name = core::normalize_username(req.username);
  // A name that can never exist fails without hashing: that reveals nothing about accounts.
  if (!name) return fail_later(store, std::move(done), invalid_credentials());
  if (auto st = account_limiter_->try_acquire(*name); !st) {
    return fail_later(store, std::move(done), st.take_error());
  }
  if (req.password.empty() || req.password.size() > core::kMaxPasswordBytes) {
    return fail_later(store, std::move(done), invalid_credentials());
  }
  std::string device = sanitize_device(req.device);
  store.user_by_username(
      std::move(name.value()),
      [this, &store, password = std::move(req.password), device = std::move(device),
       done = std::move(done)](core::Result<core::User> found) mutable {
        if (!found) {
          if (found.error().code != Errc::kNotFound) return done(found.take_error());
          // Unknown user: spend the same argon2id work as a verify (same parameters), so the
          // answer takes as long as for a wrong password. Errors (busy) are reported alike.
          deps_.hasher.hash(std::move(password),
                            off_caller<std::string>(store, [done = std::move(done)](
                                                               core::Result<std::string> r) {
                              if (!r) return done(r.take_error());
                              done(invalid_credentials());
                            }));
          return;
        }
        core::User user = std::move(found.value());
        std::string hash = user.password_hash;
        deps_.hasher.verify(
            std::move(hash), std::move(password),
            off_caller<bool>(store, [this, user = std::move(user), device = std::move(device),
                                     done = std::move(done)](core::Result<bool> ok) mutable {
              if (!ok) return done(ok.take_error());
              // Deactivated accounts get the same answer as a wrong password.
              if (!*ok || user.status != core::UserStatus::kActive) {
                return done(invalid_credentials());
              }
              const std::int64_t now = deps_.clock.now_ms();
              std::string token = generate_token();
              core::Session s;
              s.id = deps_.ids.next();
              s.token_hash = hash_token(token);
              s.user_id = user.id;
              s.device = std::move(device);
              s.created_at = now;
              s.last_used = now;
              s.expires_at = now + config_.absolute_ttl_ms;
              deps_.store.create_session(
                  std::move(s), [user = redact(std::move(user)), token = std::move(token),
                                 done = std::move(done)](core::Result<core::Session> r) mutable {
                    if (!r) return done(r.take_error());
                    done(LoginResult{std::move(user), std::move(r.value()), std::move(token)});
                  });
            }));
      });
}

void AuthService::authenticate(std::string token, Callback<AuthContext> done) {
  store::Store& store = deps_.store;
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return fail_later(store, std::move(done), invalid_session());
  }
  store.session_by_token_hash(hash_token(token), [this, &store, done = std::move(done)](
                                                     core::Result<core::Session> found) mutable {
    if (!found) {
      return done(found.error().code == Errc::kNotFound ? invalid_session() : found.take_error());
    }
    core::Session session = std::move(found.value());
    const std::int64_t now = deps_.clock.now_ms();
    if (expired(session, now, config_)) {
      // Expired rows are dead weight: remove them (fire and forget).
      store.delete_session(session.user_id, session.id, [](core::Result<core::Ok>) {});
      return done(invalid_session());
    }
    const core::Id user_id = session.user_id;
    store.user_by_id(user_id, [this, &store, session = std::move(session), now,
                               done = std::move(done)](core::Result<core::User> u) mutable {
      if (!u) return done(u.error().code == Errc::kNotFound ? invalid_session() : u.take_error());
      if (u->status != core::UserStatus::kActive) return done(invalid_session());
      // Writing last_used on every request would turn reads into writes; at most once per
      // touch_interval is enough for the idle timeout.
      if (now - session.last_used >= config_.touch_interval_ms) {
        store.touch_session(session.id, now, [](core::Result<core::Ok>) {});
        session.last_used = now;
      }
      core::User user = redact(std::move(u.value()));
      Actor actor{user.id, user.role, session.id, user.username};
      done(AuthContext{std::move(actor), std::move(user), std::move(session)});
    });
  });
}

void AuthService::logout(const Actor& who, Callback<core::Ok> done) {
  chat::Publisher& publisher = deps_.publisher;
  const core::Id user_id = who.user_id;
  const core::Id session_id = who.session_id;
  deps_.store.delete_session(user_id, session_id, [&publisher, user_id, session_id,
                                                   done = std::move(done)](core::Result<core::Ok> r) {
    // Already gone (expired, revoked elsewhere) is fine: logging out is idempotent.
    if (!r && r.error().code != Errc::kNotFound) return done(std::move(r));
    publisher.sessions_revoked(user_id, session_id);
    done(core::Ok{});
  });
}

void AuthService::list_sessions(const Actor& who, Callback<std::vector<core::Session>> done) {
  deps_.store.list_sessions(who.user_id, [this, done = std::move(done)](
                                             core::Result<std::vector<core::Session>> r) mutable {
    if (!r) return done(std::move(r));
    const std::int64_t now = deps_.clock.now_ms();
    auto& v = r.value();
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const core::Session& s) { return expired(s, now, config_); }),
            v.end());
    for (auto& s : v) s.token_hash.clear();  // not needed by anyone outside
    done(std::move(r));
  });
}

void AuthService::revoke_session(const Actor& who, core::Id session_id,
                                 Callback<core::Ok> done) {
  chat::Publisher& publisher = deps_.publisher;
  const core::Id user_id = who.user_id;
  deps_.store.delete_session(user_id, session_id, [&publisher, user_id, session_id,
                                                   done = std::move(done)](core::Result<core::Ok> r) {
    if (!r) {
      if (r.error().code == Errc::kNotFound) {
        return done(make_error(Errc::kNotFound, "session not found"));
      }
      return done(std::move(r));
    }
    publisher.sessions_revoked(user_id, session_id);
    done(core::Ok{});
  });
}

void AuthService::change_password(const Actor& who, std::string old_password,
                                  std::string new_password, Callback<core::Ok> done) {
  store::Store& store = deps_.store;
  if (auto st = core::validate_password(new_password); !st) {
    return fail_later(store, std::move(done), st.take_error());
  }
  // A stolen session must not become an oracle for the current password.
  if (auto st = account_limiter_->try_acquire(account_key(who)); !st) {
    return fail_later(store, std::move(done), st.take_error());
  }
  const core::Id user_id = who.user_id;
  const core::Id keep = who.session_id;
  store.user_by_id(user_id, [this, &store, user_id, keep, old_password = std::move(old_password),
                             new_password = std::move(new_password),
                             done = std::move(done)](core::Result<core::User> u) mutable {
    if (!u) return done(u.take_error());
    std::string hash = u->password_hash;
    deps_.hasher.verify(
        std::move(hash), std::move(old_password),
        off_caller<bool>(store, [this, &store, user_id, keep,
                                 new_password = std::move(new_password),
                                 done = std::move(done)](core::Result<bool> ok) mutable {
          if (!ok) return done(ok.take_error());
          // kForbidden, not kUnauthorized: the session is fine, clients must not log out.
          if (!*ok) return done(make_error(Errc::kForbidden, "current password is wrong"));
          deps_.hasher.hash(
              std::move(new_password),
              off_caller<std::string>(store, [this, &store, user_id, keep, done = std::move(done)](
                                                 core::Result<std::string> hash) mutable {
                if (!hash) return done(hash.take_error());
                store::UserUpdate up;
                up.id = user_id;
                up.password_hash = std::move(hash.value());
                store.update_user(std::move(up), [this, &store, user_id, keep,
                                                  done = std::move(done)](
                                                     core::Result<core::User> updated) mutable {
                  if (!updated) return done(updated.take_error());
                  // List first so each revoked session can be announced by id; the current
                  // one stays valid (a 0 = "all" announcement would close it too).
                  store.list_sessions(user_id, [this, &store, user_id, keep,
                                                done = std::move(done)](
                                                   core::Result<std::vector<core::Session>> list) mutable {
                    std::vector<core::Id> revoked;
                    if (list) {
                      for (const auto& s : *list) {
                        if (s.id != keep) revoked.push_back(s.id);
                      }
                    }
                    store.delete_user_sessions(
                        user_id, keep,
                        [this, user_id, revoked = std::move(revoked),
                         done = std::move(done)](core::Result<std::int64_t> n) {
                          if (!n) return done(n.take_error());
                          for (core::Id id : revoked) deps_.publisher.sessions_revoked(user_id, id);
                          done(core::Ok{});
                        });
                  });
                });
              }));
        }));
  });
}

void AuthService::update_profile(const Actor& who, std::optional<std::string> display_name,
                                 std::optional<std::string> email, Callback<core::User> done) {
  store::Store& store = deps_.store;
  if (display_name) {
    if (auto st = validate_display_name(*display_name); !st) {
      return fail_later(store, std::move(done), st.take_error());
    }
  }
  if (email) {
    if (auto st = core::validate_email(*email); !st) {
      return fail_later(store, std::move(done), st.take_error());
    }
  }
  auto reply = [done = std::move(done)](core::Result<core::User> u) {
    if (!u) return done(std::move(u));
    done(redact(std::move(u.value())));
  };
  if (!display_name && !email) return store.user_by_id(who.user_id, std::move(reply));
  store::UserUpdate up;
  up.id = who.user_id;
  up.display_name = std::move(display_name);
  up.email = std::move(email);
  store.update_user(std::move(up), std::move(reply));
}

void AuthService::admin_create_user(const Actor& who, RegisterRequest req, core::Role role,
                                    Callback<core::User> done) {
  if (auto st = authorize(Subject{who.user_id, who.role, std::nullopt}, Action::kAdministerUsers);
      !st) {
    return fail_later(deps_.store, std::move(done), st.take_error());
  }
  create_account(deps_, std::move(req), role, std::move(done));
}

void AuthService::admin_set_role(const Actor& who, core::Id user_id, core::Role role,
                                 Callback<core::User> done) {
  if (auto st = authorize(Subject{who.user_id, who.role, std::nullopt}, Action::kAdministerUsers);
      !st) {
    return fail_later(deps_.store, std::move(done), st.take_error());
  }
  store::UserUpdate up;
  up.id = user_id;
  up.role = role;
  deps_.store.update_user(std::move(up), [done = std::move(done)](core::Result<core::User> u) {
    if (!u) return done(std::move(u));
    done(redact(std::move(u.value())));
  });
}

void AuthService::admin_deactivate(const Actor& who, core::Id user_id,
                                   Callback<core::User> done) {
  store::Store& store = deps_.store;
  if (auto st = authorize(Subject{who.user_id, who.role, std::nullopt}, Action::kAdministerUsers);
      !st) {
    return fail_later(store, std::move(done), st.take_error());
  }
  if (user_id == who.user_id) {
    return fail_later(store, std::move(done),
                      make_error(Errc::kInvalidArgument, "user_id: cannot deactivate yourself"));
  }
  store::UserUpdate up;
  up.id = user_id;
  up.status = core::UserStatus::kDeactivated;
  chat::Publisher& publisher = deps_.publisher;
  store.update_user(std::move(up), [&store, &publisher, user_id,
                                    done = std::move(done)](core::Result<core::User> u) mutable {
    if (!u) return done(std::move(u));
    // authenticate() rejects deactivated users already; deleting the sessions makes it final.
    store.delete_user_sessions(
        user_id, 0, [&publisher, user_id, user = redact(std::move(u.value())),
                     done = std::move(done)](core::Result<std::int64_t> n) mutable {
          if (!n) return done(n.take_error());
          publisher.sessions_revoked(user_id, 0);
          done(std::move(user));
        });
  });
}

void AuthService::list_users(store::UserQuery q, Callback<std::vector<core::User>> done) {
  if (q.limit <= 0) q.limit = 50;
  deps_.store.list_users(std::move(q), [done = std::move(done)](
                                           core::Result<std::vector<core::User>> r) mutable {
    if (!r) return done(std::move(r));
    for (auto& u : *r) u.password_hash.clear();
    done(std::move(r));
  });
}

}  // namespace parley::auth
