#include "core/validate.h"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

TEST(Utf8, AcceptsEmojiAndRejectsIllFormed) {
  EXPECT_TRUE(is_valid_utf8("hello \xF0\x9F\x98\x80 w\xC3\xB6rld"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));       // truncated
}

TEST(Body, RulesAUserWouldNotice) {
  EXPECT_TRUE(validate_body("line one\nline two \xF0\x9F\x8E\x89"));
  EXPECT_EQ(validate_body("   \n ").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(validate_body(std::string("a\0b", 3)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(validate_body("bell\x07").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(validate_body("\xC2\x85").error().code, Errc::kInvalidArgument);  // C1 NEL
  EXPECT_EQ(validate_body(std::string(kMaxBodyBytes + 1, 'x')).error().code, Errc::kTooLarge);
  EXPECT_TRUE(validate_body(std::string(kMaxBodyBytes, 'x')));
}

TEST(Username, NormalisedAndValidated) {
  EXPECT_EQ(normalize_username("Alice.B").value(), "alice.b");
  EXPECT_FALSE(normalize_username("a"));
  EXPECT_FALSE(normalize_username("_alice"));
  EXPECT_FALSE(normalize_username("al ice"));
  EXPECT_FALSE(normalize_username("\xC3\xA4lice"));
  EXPECT_FALSE(normalize_username(std::string(33, 'a')));
}

TEST(Password, LengthBounds) {
  EXPECT_FALSE(validate_password("short"));
  EXPECT_TRUE(validate_password("correct horse"));
  EXPECT_FALSE(validate_password(std::string(257, 'x')));
}

TEST(ClientTxnId, PrintableAsciiOnly) {
  EXPECT_TRUE(validate_client_txn_id("c7f1-22"));
  EXPECT_FALSE(validate_client_txn_id(""));
  EXPECT_FALSE(validate_client_txn_id("has space"));
  EXPECT_FALSE(validate_client_txn_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace parley::core
