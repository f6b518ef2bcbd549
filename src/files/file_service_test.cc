// The file service over a real SQLite store, a real blob directory, libmagic and libvips.
#include "files/file_service.h"

#include <gtest/gtest.h>
#include <vips/vips.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "blob/fs/fs_blob_store.h"
#include "core/testing/wait.h"
#include "files/media.h"
#include "store/sqlite/sqlite_store.h"

namespace parley::files {
namespace {

namespace fs = std::filesystem;
using core::Errc;

// A w x h RGB PNG made by libvips.
std::string png_bytes(int w, int h) {
  VipsImage* black = nullptr;
  EXPECT_EQ(vips_black(&black, w, h, "bands", 3, nullptr), 0);
  void* buf = nullptr;
  std::size_t len = 0;
  EXPECT_EQ(vips_pngsave_buffer(black, &buf, &len, nullptr), 0);
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  g_object_unref(black);
  return out;
}

constexpr const char* kHelloSha256 = "19d92c7414870734fe715cfa0e4e299e5b6c6d8ccd33c924d985be1898ccc8b4";

class FileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(init_media().ok());
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("parley-files-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    store::SqliteConfig sc;
    sc.path = (dir_ / "parley.db").string();
    auto s = store::SqliteStore::open(sc, nullptr);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    auto b = blob::FsBlobStore::create((dir_ / "blobs").string());
    ASSERT_TRUE(b.ok());
    blobs_ = std::move(*b);
    config_.max_image_pixels = 100'000;
    config_.quota_bytes = 50'000;
    config_.sweep_interval_ms = 3'600'000;  // sweeps run by hand here
    files_ = std::make_unique<FileService>(
        FileService::Deps{*store_, *blobs_, clock_, ids_, metrics_}, config_);
    alice_ = user("alice");
    bob_ = user("bob");
  }
  void TearDown() override {
    files_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  auth::Actor user(const std::string& name) {
    store::NewUser u;
    u.id = ids_.next();
    u.username = name;
    u.display_name = name;
    u.password_hash = "x";
    u.created_at = clock_.now_ms();
    auto r = test::wait<core::User>([&](auto d) { store_->create_user(u, std::move(d)); });
    EXPECT_TRUE(r.ok());
    return auth::Actor{u.id, core::Role::kUser, 0, name};
  }
  std::string stage(const std::string& bytes) {
    std::string p = files_->staging_dir() + "/test-" + std::to_string(++staged_);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  core::Result<core::Attachment> upload(const auth::Actor& who, const std::string& name,
                                        const std::string& bytes) {
    std::string path = stage(bytes);
    auto r = test::wait<core::Attachment>(
        [&](auto d) { files_->upload(who, name, path, std::move(d)); });
    EXPECT_FALSE(fs::exists(path)) << "the staged file is always consumed";
    return r;
  }
  core::Result<std::shared_ptr<Download>> download(const auth::Actor& who, core::Id id,
                                                   Rendition r = Rendition::kOriginal) {
    return test::wait<std::shared_ptr<Download>>(
        [&](auto d) { files_->download(who, id, r, std::move(d)); });
  }

  fs::path dir_;
  core::ManualClock clock_{1'760'000'000'000};
  core::IdGenerator ids_{clock_, 1};
  ops::Registry metrics_;
  ops::FilesConfig config_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<blob::FsBlobStore> blobs_;
  std::unique_ptr<FileService> files_;
  auth::Actor alice_, bob_;
  int staged_ = 0;
};

TEST_F(FileServiceTest, TextFileIsStoredUnderItsSha256WithTheDetectedType) {
  auto a = upload(alice_, "../notes.exe", "hello, plain text\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->name, "notes.exe");
  EXPECT_EQ(a->mime, "text/plain") << "the content decides, not the extension";
  EXPECT_EQ(a->kind, core::AttachmentKind::kFile);
  EXPECT_EQ(a->size, 18);
  // printf 'hello, plain text\n' | sha256sum
  EXPECT_EQ(a->sha256, kHelloSha256);
  EXPECT_TRUE(blobs_->exists(a->sha256));
  auto d = download(alice_, a->id);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->reader->size(), 18u);
  EXPECT_EQ((*d)->mime, "text/plain");
}

TEST_F(FileServiceTest, BadInputIsRefusedAndLeavesNothing) {
  auto empty = upload(alice_, "empty.txt", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::kInvalidArgument);
  auto html = upload(alice_, "photo.jpg", "<!DOCTYPE html><html><script>alert(1)</script></html>");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().code, Errc::kUnsupportedType);
  EXPECT_NE(html.error().message.find("text/html"), std::string::npos);
  auto bomb = upload(alice_, "big.png", png_bytes(1000, 1000));  // 1e6 px > 1e5 allowed
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.error().code, Errc::kTooLarge);
  auto over = upload(alice_, "big.txt", std::string(60'000, 'a'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::kQuotaExceeded);
  auto bad_name = upload(alice_, "bad\xff.txt", "x");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, Errc::kInvalidArgument);
  auto used = test::wait<std::int64_t>([&](auto d) { store_->storage_used(alice_.user_id, std::move(d)); });
  EXPECT_EQ(*used, 0);
  EXPECT_TRUE(blobs_->list("", 10)->empty()) << "no blob from a refused upload";
  EXPECT_TRUE(fs::is_empty(files_->staging_dir()));
}

TEST_F(FileServiceTest, ImagesGetStrippedWebpRenditionsAndOnlyTheUploaderSeesUnsentOnes) {
  auto a = upload(alice_, "black.png", png_bytes(200, 100));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->kind, core::AttachmentKind::kImage);
  EXPECT_EQ(a->width, 200);
  EXPECT_EQ(a->height, 100);
  ASSERT_FALSE(a->thumb_key.empty());
  auto thumb = download(alice_, a->id, Rendition::kThumbnail);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ((*thumb)->mime, "image/webp");
  std::string head(12, '\0');
  ASSERT_TRUE((*thumb)->reader->read(0, head.data(), 12).ok());
  EXPECT_EQ(head.substr(0, 4), "RIFF");
  EXPECT_EQ(head.substr(8, 4), "WEBP");
  std::string all((*thumb)->reader->size(), '\0');
  ASSERT_TRUE((*thumb)->reader->read(0, all.data(), all.size()).ok());
  EXPECT_EQ(all.find("EXIF"), std::string::npos) << "libvips adds an EXIF chunk; it is stripped";
  EXPECT_EQ(all.find("Exif"), std::string::npos);
  auto theirs = download(bob_, a->id);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, Errc::kNotFound);
  auto their_thumb = download(bob_, a->id, Rendition::kThumbnail);
  ASSERT_FALSE(their_thumb.ok());
  EXPECT_EQ(their_thumb.error().code, Errc::kNotFound);
}

TEST_F(FileServiceTest, SweepRemovesUnsentUploadsAndUnreferencedBlobsButKeepsSharedOnes) {
  auto a = upload(alice_, "a.txt", "same bytes\n");
  auto b = upload(bob_, "b.txt", "same bytes\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sha256, b->sha256);
  clock_.advance_ms(config_.unsent_ttl_ms - 1000);
  auto c = upload(alice_, "c.txt", "other bytes\n");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(blobs_->put_bytes(std::string(64, 'e'), "orphan").ok());
  clock_.advance_ms(2000);  // a and b are past the TTL, c is not
  SweepStats s = files_->sweep();
  EXPECT_EQ(s.unsent_deleted, 2);
  EXPECT_EQ(s.blobs_deleted, 2);  // a/b's shared blob and the orphan
  EXPECT_FALSE(blobs_->exists(a->sha256));
  EXPECT_TRUE(blobs_->exists(c->sha256));
  EXPECT_FALSE(download(alice_, a->id).ok());
  EXPECT_TRUE(download(alice_, c->id).ok());
}

TEST_F(FileServiceTest, AfterShutdownUploadsAreRefusedAndConsumed) {
  files_->shutdown();
  auto r = upload(alice_, "late.txt", "too late\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  files_->shutdown();  // idempotent
}

}  // namespace
}  // namespace parley::files
