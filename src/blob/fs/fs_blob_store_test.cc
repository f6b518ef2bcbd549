#include "blob/fs/fs_blob_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace parley::blob {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir() {
  std::random_device rd;
  fs::path p = fs::temp_directory_path() / ("parley-blob-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(p);
  return p;
}

std::string key_of(char c) { return std::string(64, c); }

std::string read_all(BlobReader& r) {
  std::string out(r.size(), '\0');
  auto n = r.read(0, out.data(), out.size());
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    auto s = FsBlobStore::create(dir_.string());
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string stage(const std::string& bytes) {
    std::string p = store_->staging_dir() + "/in-" + std::to_string(++n_);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  fs::path dir_;
  std::unique_ptr<FsBlobStore> store_;
  int n_ = 0;
};

TEST_F(FsBlobStoreTest, PutFileMovesTheStagedFileIntoPlace) {
  std::string staged = stage("hello blob");
  ASSERT_TRUE(store_->put_file(key_of('a'), staged).ok());
  EXPECT_FALSE(fs::exists(staged)) << "the staged file is consumed";
  EXPECT_TRUE(store_->exists(key_of('a')));
  EXPECT_EQ(store_->path_of(key_of('a')), dir_.string() + "/aa/aa/" + key_of('a'));
  auto r = store_->open(key_of('a'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 10u);
  EXPECT_EQ(read_all(**r), "hello blob");
  char part[4];
  auto n = (*r)->read(6, part, sizeof part);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(part, *n), "blob");
}

TEST_F(FsBlobStoreTest, PuttingAnExistingKeyKeepsTheBlobAndConsumesTheFile) {
  ASSERT_TRUE(store_->put_bytes(key_of('b'), "first").ok());
  std::string staged = stage("first");
  ASSERT_TRUE(store_->put_file(key_of('b'), staged).ok());
  EXPECT_FALSE(fs::exists(staged));
  auto r = store_->open(key_of('b'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(read_all(**r), "first");
  EXPECT_TRUE(fs::is_empty(store_->staging_dir())) << "nothing left in staging";
}

TEST_F(FsBlobStoreTest, MissingMalformedAndRemovedKeys) {
  auto missing = store_->open(key_of('c'));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
  EXPECT_FALSE(store_->open("../../etc/passwd").ok());
  EXPECT_FALSE(store_->put_bytes("ABC", "x").ok());
  ASSERT_TRUE(store_->put_bytes(key_of('d'), "x").ok());
  auto reader = store_->open(key_of('d'));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(store_->remove(key_of('d')).ok());
  EXPECT_FALSE(store_->exists(key_of('d')));
  EXPECT_EQ(read_all(**reader), "x") << "an open reader survives removal";
  EXPECT_TRUE(store_->remove(key_of('d')).ok()) << "removing twice is fine";
}

TEST_F(FsBlobStoreTest, ListPagesInKeyOrder) {
  std::vector<std::string> keys = {key_of('3'), key_of('1'), key_of('f'), key_of('a'),
                                   "12" + std::string(62, '0')};
  for (const auto& k : keys) ASSERT_TRUE(store_->put_bytes(k, k).ok());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = store_->list(after, 2);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    seen.insert(seen.end(), page->begin(), page->end());
    after = page->back();
  }
  EXPECT_EQ(seen, keys);
}

TEST_F(FsBlobStoreTest, OpenClearsStaleStagingFiles) {
  std::string stale = stage("half");
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(1));
  std::string fresh = stage("in flight");
  auto again = FsBlobStore::create(dir_.string());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh)) << "a body being received right now is left alone";
}

}  // namespace
}  // namespace parley::blob
