// Text extraction for search: cleaning, text files, and PDFs through the real pdftotext
// (poppler-utils), including files and programs that misbehave.
#include "files/text_extract.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace parley::files {
namespace {

using core::Errc;

// A blob held in memory (the BlobReader contract, nothing else).
class MemoryReader : public blob::BlobReader {
 public:
  explicit MemoryReader(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  core::Result<std::size_t> read(std::uint64_t offset, char* buf, std::size_t n) override {
    if (offset >= bytes_.size()) return std::size_t{0};
    n = std::min<std::size_t>(n, bytes_.size() - offset);
    std::copy_n(bytes_.data() + offset, n, buf);
    return n;
  }

 private:
  std::string bytes_;
};

// A one-page PDF showing `text` (Helvetica), with a correct cross-reference table.
std::string pdf_with(const std::string& text) {
  std::string stream = "BT /F1 18 Tf 72 720 Td (" + text + ") Tj ET";
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R "
      ">> >> /Contents 4 0 R >>",
      "<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string out = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  const std::size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t o : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", o);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// An executable script in a fresh temp dir (a stand-in for a misbehaving pdftotext).
std::string script(const std::string& body) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("parley-extract-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "fake-pdftotext").string();
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(CleanIndexText, KeepsUtf8AndBlanksControlsAndOverrides) {
  EXPECT_EQ(clean_index_text("Café – 日本語\nline\ttab", 1000), "Café – 日本語\nline\ttab");
  // Control characters (the snippet marks among them) and bidi overrides become spaces.
  EXPECT_EQ(clean_index_text(std::string("a\x01") + "b\x02" "c\rd\x7f" "e", 1000), "a b c d e");
  EXPECT_EQ(clean_index_text("evil\u202Etxt.exe", 1000), "evil txt.exe");
  // Bytes that are not UTF-8 read as Latin-1 (a Windows text file).
  EXPECT_EQ(clean_index_text("caf\xe9 na\xefve", 1000), "café naïve");
  // Cut at a whole character within the bound.
  EXPECT_EQ(clean_index_text("ab日本", 4), "ab");
  EXPECT_EQ(clean_index_text("ab日本", 5), "ab日");
}

TEST(ExtractText, TextFilesAreReadUpToTheBound) {
  TextExtractLimits lim;
  lim.max_text_bytes = 20;
  MemoryReader r("the zeppelin departs at noon from the harbour");
  auto t = extract_text(r, "text/plain", lim);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, "the zeppelin departs");
  MemoryReader csv("name,city\nann,Zürich\n");
  auto c = extract_text(csv, "text/csv", lim);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "name,city\nann,Züric");  // 20 bytes
  MemoryReader img("\x89PNG....");
  EXPECT_EQ(extract_text(img, "image/png", lim).error().code, Errc::kUnsupportedType);
  lim.max_file_bytes = 10;
  EXPECT_EQ(extract_text(r, "text/plain", lim).error().code, Errc::kTooLarge);
}

TEST(ExtractText, PdfTextComesFromPdftotext) {
  TextExtractLimits lim;
  MemoryReader r(pdf_with("Photosynthesis quarterly zeppelin"));
  auto t = extract_text(r, "application/pdf", lim);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_NE(t->find("Photosynthesis quarterly zeppelin"), std::string::npos) << *t;
  // PDF text switched off: no PDF is read.
  lim.pdftotext = "";
  EXPECT_EQ(extract_text(r, "application/pdf", lim).error().code, Errc::kUnsupportedType);
  EXPECT_FALSE(has_text("application/pdf", lim));
  EXPECT_TRUE(has_text("text/markdown", lim));
}

TEST(ExtractText, DamagedPdfIsRefusedNotFatal) {
  TextExtractLimits lim;
  std::string junk = "%PDF-1.4\n";
  std::mt19937 rng(1);
  for (int i = 0; i < 100000; ++i) junk += static_cast<char>(rng());
  MemoryReader r(junk);
  auto t = extract_text(r, "application/pdf", lim);
  // pdftotext either gives nothing (refused) or some text it could salvage; never hangs.
  if (!t.ok()) {
    EXPECT_EQ(t.error().code, Errc::kInvalidArgument) << t.error().message;
  }
}

TEST(ExtractText, AHangingExtractorIsKilledAtTheTimeout) {
  TextExtractLimits lim;
  lim.timeout_ms = 300;
  lim.pdftotext = script("exec sleep 30");
  MemoryReader r(pdf_with("never read"));
  const auto start = std::chrono::steady_clock::now();
  auto t = extract_text(r, "application/pdf", lim);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::kUnavailable);
  EXPECT_NE(t.error().message.find("timed out"), std::string::npos) << t.error().message;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(ExtractText, EndlessOutputIsCutAndTheExtractorStopped) {
  TextExtractLimits lim;
  lim.max_text_bytes = 1000;
  lim.pdftotext = script("exec yes zeppelin");  // endless text, never reads stdin
  MemoryReader r(std::string(1 << 20, 'x'));  // more than a socket buffer: it must not block
  auto t = extract_text(r, "application/pdf", lim);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->size(), 1000u);
}

TEST(ExtractText, AnExtractorThatCannotStartIsAnError) {
  TextExtractLimits lim;
  lim.pdftotext = "/nonexistent/pdftotext";
  MemoryReader r(pdf_with("x"));
  auto t = extract_text(r, "application/pdf", lim);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::kUnavailable);
}

TEST(ExtractText, AMemoryHungryExtractorHitsItsLimit) {
  TextExtractLimits lim;
  lim.memory_bytes = 64LL << 20;
  // Tries to hold 200 MB: the address-space limit stops it (it prints "done" without one).
  lim.pdftotext = script("exec python3 -c \"x = bytearray(200000000); print('done')\"");
  MemoryReader r(pdf_with("x"));
  auto t = extract_text(r, "application/pdf", lim);
  ASSERT_FALSE(t.ok()) << *t;
  lim.memory_bytes = 1LL << 30;
  auto unlimited = extract_text(r, "application/pdf", lim);
  ASSERT_TRUE(unlimited.ok()) << unlimited.error().message;
  EXPECT_NE(unlimited->find("done"), std::string::npos);
}

}  // namespace
}  // namespace parley::files
