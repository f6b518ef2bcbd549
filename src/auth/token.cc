// Session token helpers declared in auth/auth_service.h.
#include <sodium.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/auth_service.h"

namespace parley::auth {

std::string generate_token() {
  if (sodium_init() < 0) std::abort();  // idempotent; no randomness means no safe tokens
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return std::string(out);
}

std::string hash_token(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex);
}

}  // namespace parley::auth
