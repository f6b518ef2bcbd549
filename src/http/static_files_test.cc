#include "http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "http/middleware.h"

namespace parley::http {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("parley_static_" + std::to_string(std::random_device{}()));
    root_ = base_ / "web";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html>app");
    write(root_ / "assets" / "index-B3xk9aQ1.js", "console.log(1)");
    write(root_ / "assets" / "index-B3xk9aQ1.js.br", "BROTLI");
    write(root_ / "assets" / "index-B3xk9aQ1.js.gz", "GZIP");
    write(root_ / "robots.txt", "User-agent: *");
    write(root_ / ".env", "SECRET=1");
    write(base_ / "secret.txt", "outside the root");
    fs::create_symlink(base_ / "secret.txt", root_ / "link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

  core::Result<Response> get(std::string path, std::vector<std::pair<std::string, std::string>> h = {}) {
    StaticFiles files(StaticFilesConfig{.root = root_.string()});
    Request req;
    req.method = "GET";
    req.target = path;
    req.headers = std::move(h);
    return files.serve(req, path);
  }

  fs::path base_, root_;
};

TEST_F(StaticFilesTest, RootAndUnknownRoutesServeIndexHtml) {
  for (std::string p : {"/", "/rooms/123", "/settings/profile"}) {
    auto r = get(p);
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "<!doctype html>app");
    EXPECT_EQ(response_header(*r, "content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(response_header(*r, "cache-control"), "no-cache");
  }
}

TEST_F(StaticFilesTest, MissingFileWithExtensionIs404) {
  auto r = get("/assets/missing-12345678.js");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Errc::kNotFound);
}

TEST_F(StaticFilesTest, TraversalIsRejected) {
  for (std::string p : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                        "/assets/%2E%2E/%2e%2e/secret.txt", "/..%2fsecret.txt", "/a\\..\\secret.txt",
                        "/%00index.html", "/%zz"}) {
    auto r = get(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument) << p;
  }
}

TEST_F(StaticFilesTest, HiddenFilesAndSymlinksOutOfRootAreNotServed) {
  auto hidden = get("/.env");
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, core::Errc::kNotFound);
  auto link = get("/link.txt");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code, core::Errc::kNotFound);
}

TEST_F(StaticFilesTest, HashedAssetsAreImmutableAndPrecompressedVariantsChosen) {
  auto plain = get("/assets/index-B3xk9aQ1.js");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body, "console.log(1)");
  EXPECT_EQ(response_header(*plain, "content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(response_header(*plain, "cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(response_header(*plain, "content-encoding"), "");

  auto br = get("/assets/index-B3xk9aQ1.js", {{"accept-encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(br.ok());
  EXPECT_EQ(br->body, "BROTLI");
  EXPECT_EQ(response_header(*br, "content-encoding"), "br");
  EXPECT_EQ(response_header(*br, "content-type"), "text/javascript; charset=utf-8");

  auto gz = get("/assets/index-B3xk9aQ1.js", {{"accept-encoding", "gzip, br;q=0"}});
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(gz->body, "GZIP");
  EXPECT_EQ(response_header(*gz, "content-encoding"), "gzip");
}

TEST_F(StaticFilesTest, EtagRevalidationAnswers304) {
  auto first = get("/robots.txt");
  ASSERT_TRUE(first.ok());
  std::string etag(response_header(*first, "etag"));
  ASSERT_FALSE(etag.empty());
  auto again = get("/robots.txt", {{"if-none-match", etag}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
}

TEST(StaticFilesNames, HashedAssetDetection) {
  EXPECT_TRUE(StaticFiles::is_hashed_asset("assets/index-B3xk9aQ1.js"));
  EXPECT_TRUE(StaticFiles::is_hashed_asset("assets/vendor.3f2a9b1c.css"));
  EXPECT_FALSE(StaticFiles::is_hashed_asset("assets/logo.svg"));
  EXPECT_FALSE(StaticFiles::is_hashed_asset("index-B3xk9aQ1.js"));  // not under /assets/
  EXPECT_EQ(StaticFiles::content_type("a.webmanifest"), "application/manifest+json");
  EXPECT_EQ(StaticFiles::content_type("a.unknown"), "application/octet-stream");
}

}  // namespace
}  // namespace parley::http
