// auth/auth_service.h: accounts and sessions: register, login, logout, authenticate a bearer
// token, list/revoke sessions, change password, and the admin operations behind `parley admin`.
//
// Passwords are hashed with argon2id (libsodium) on a bounded worker pool (PasswordHasher),
// never on the caller's thread. Session tokens are 256-bit random values, base64url encoded,
// given to the client once; only their SHA-256 (hex) is stored. Sessions expire after
// `idle_timeout_ms` without use and `absolute_ttl_ms` after login.
//
// Threading: every method returns at once and calls `done` exactly once on a store or hasher
// thread. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/result.h"
#include "core/types.h"
#include "store/store.h"

namespace parley::chat {
class Publisher;
}

namespace parley::auth {

class PasswordHasher;
class RateLimiter;

enum class RegistrationMode { kOpen, kInviteOnly, kClosed };

struct AuthConfig {
  RegistrationMode registration = RegistrationMode::kOpen;  // who may self-register
  std::string invite_code;            // for kInviteOnly: the code required to register
  std::int64_t idle_timeout_ms = 30LL * 24 * 3600 * 1000;   // unused this long: expired
  std::int64_t absolute_ttl_ms = 90LL * 24 * 3600 * 1000;   // after login: expired regardless
  std::int64_t touch_interval_ms = 60 * 1000;               // write last_used at most this often
  // Login/register attempts: per client IP and per account, token buckets.
  double ip_attempts_per_minute = 20;
  double account_attempts_per_minute = 10;
};

// Who is calling, established by authenticate().
struct Actor {
  core::Id user_id = 0;
  core::Role role = core::Role::kUser;
  core::Id session_id = 0;
  std::string username;
};

struct RegisterRequest {
  std::string username;
  std::string password;
  std::string email;         // optional
  std::string display_name;  // optional; defaults to the username
  std::string invite_code;   // required when registration is invite-only
  std::string ip;            // for rate limiting
};

struct LoginRequest {
  std::string username;
  std::string password;
  std::string device;  // user agent or client-chosen name
  std::string ip;      // for rate limiting
};

struct LoginResult {
  core::User user;
  core::Session session;
  std::string token;  // the bearer token: shown once, never stored
};

struct AuthContext {
  Actor actor;
  core::User user;
  core::Session session;
};

class AuthService {
 public:
  struct Deps {
    store::Store& store;
    PasswordHasher& hasher;
    const core::Clock& clock;
    core::IdGenerator& ids;
    chat::Publisher& publisher;  // announces revoked sessions to the gateway
  };
  AuthService(Deps deps, AuthConfig config);
  ~AuthService();

  // kForbidden when registration is closed or the invite code is wrong; kConflict when taken;
  // kRateLimited (retry_after_ms set) when the IP made too many attempts.
  void register_user(RegisterRequest req, store::Callback<core::User> done);
  // kUnauthorized for a wrong username or password or a deactivated user (same message, so
  // usernames are not revealed); kRateLimited per IP and per account.
  void login(LoginRequest req, store::Callback<LoginResult> done);
  // kUnauthorized for unknown, expired or revoked tokens and deactivated users.
  void authenticate(std::string token, store::Callback<AuthContext> done);
  void logout(const Actor& who, store::Callback<core::Ok> done);
  void list_sessions(const Actor& who, store::Callback<std::vector<core::Session>> done);
  void revoke_session(const Actor& who, core::Id session_id, store::Callback<core::Ok> done);
  // Verifies `old_password`; on success revokes every other session of the user.
  void change_password(const Actor& who, std::string old_password, std::string new_password,
                       store::Callback<core::Ok> done);
  void update_profile(const Actor& who, std::optional<std::string> display_name,
                      std::optional<std::string> email, store::Callback<core::User> done);

  // --- administration (the caller must be an admin, checked through the policy; the CLI acts
  // as a built-in admin with Actor{.role = kAdmin}).
  void admin_create_user(const Actor& who, RegisterRequest req, core::Role role,
                         store::Callback<core::User> done);
  void admin_set_role(const Actor& who, core::Id user_id, core::Role role,
                      store::Callback<core::User> done);
  // Deactivates the user and deletes all their sessions at once (connected clients are closed).
  void admin_deactivate(const Actor& who, core::Id user_id, store::Callback<core::User> done);
  void list_users(store::UserQuery q, store::Callback<std::vector<core::User>> done);

 private:
  Deps deps_;
  AuthConfig config_;
  std::unique_ptr<RateLimiter> ip_limiter_;
  std::unique_ptr<RateLimiter> account_limiter_;
};

// Token helpers (exposed for tests and bot tokens later).
std::string generate_token();                    // 256-bit random, base64url without padding
std::string hash_token(std::string_view token);  // hex SHA-256

}  // namespace parley::auth
