#include "files/file_name.h"

#include <gtest/gtest.h>

namespace parley::files {
namespace {

std::string ok(std::string_view raw) {
  auto r = sanitize_file_name(raw);
  EXPECT_TRUE(r.ok()) << raw;
  return r.ok() ? *r : "";
}

TEST(FileName, KeepsOnlyTheLastPathComponent) {
  EXPECT_EQ(ok("../../etc/passwd"), "passwd");
  EXPECT_EQ(ok("C:\\Users\\me\\report.pdf"), "report.pdf");
  EXPECT_EQ(ok(".."), "file");
  EXPECT_EQ(ok("dir/"), "file");
  EXPECT_EQ(ok(""), "file");
  EXPECT_EQ(ok("  .hidden.txt. "), "hidden.txt");
}

TEST(FileName, RemovesControlsAndBidiTricks) {
  EXPECT_EQ(ok("invoice\u202Efdp.exe"), "invoicefdp.exe");
  EXPECT_EQ(ok("a\u2066b\u2069c\u200Fd\u200Be\uFEFF.txt"), "abcde.txt");
  EXPECT_EQ(ok(std::string("a\x01\x1f\x7f") + "b\r\n.txt"), "ab.txt");
  EXPECT_EQ(ok("a\xC2\x85z"), "az") << "C1 control U+0085";
  EXPECT_EQ(ok("Übersicht 日本.png"), "Übersicht 日本.png");
}

TEST(FileName, RefusesInvalidUtf8AndOverlongNames) {
  EXPECT_FALSE(sanitize_file_name("bad\xff.txt").ok());
  EXPECT_TRUE(sanitize_file_name(std::string(255, 'a')).ok());
  auto too_long = sanitize_file_name(std::string(256, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, core::Errc::kInvalidArgument);
}

TEST(FileName, ContentDispositionHasAsciiFallbackAndEncodedName) {
  EXPECT_EQ(content_disposition("report.pdf", false),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  EXPECT_EQ(content_disposition("a \"b\"\\c;d.txt", true),
            "inline; filename=\"a _b__c;d.txt\"; filename*=UTF-8''a%20%22b%22%5Cc%3Bd.txt");
  EXPECT_EQ(content_disposition("日.png", false),
            "attachment; filename=\"___.png\"; filename*=UTF-8''%E6%97%A5.png");
}

}  // namespace
}  // namespace parley::files
