#include "ops/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "ops/config.h"

namespace parley::ops {
namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Log, JsonLinesWithEscapedStructuredFields) {
  std::ostringstream out;
  init_logging(LogConfig{.level = "info", .format = "json"}, out);
  log_info("user \"logged\" in", {{"user_id", "42"}, {"device", "evil\n{\"level\":\"error\"}"}});
  spdlog::info("plain {} message", "formatted");
  auto l = lines(out.str());
  ASSERT_EQ(l.size(), 2u) << out.str();
  EXPECT_EQ(l[0].rfind("{\"ts\":\"", 0), 0u);
  EXPECT_NE(l[0].find("Z\",\"level\":\"info\",\"msg\":\"user \\\"logged\\\" in\",\"user_id\":\"42\","
                      "\"device\":\"evil\\n{\\\"level\\\":\\\"error\\\"}\"}"),
            std::string::npos)
      << l[0];
  EXPECT_NE(l[1].find("\"msg\":\"plain formatted message\"}"), std::string::npos) << l[1];
}

TEST(Log, LevelFiltersAndWarnIsNamedWarn) {
  std::ostringstream out;
  init_logging(LogConfig{.level = "warn", .format = "json"}, out);
  log_info("hidden");
  log_debug("hidden");
  log_warn("shown", {{"code", "x"}});
  log_error("also shown");
  auto l = lines(out.str());
  ASSERT_EQ(l.size(), 2u) << out.str();
  EXPECT_NE(l[0].find("\"level\":\"warn\""), std::string::npos);
  EXPECT_NE(l[1].find("\"level\":\"error\""), std::string::npos);
}

TEST(Log, TextFormatIsOneLinePerRecord) {
  std::ostringstream out;
  init_logging(LogConfig{.level = "info", .format = "text"}, out);
  log_info("started", {{"port", "8080"}, {"note", "two\nlines"}});
  auto l = lines(out.str());
  ASSERT_EQ(l.size(), 1u) << out.str();
  EXPECT_NE(l[0].find("Z info  started port=\"8080\" note=\"two\\nlines\""), std::string::npos) << l[0];
}

TEST(Log, JsonEscapeHandlesControlAndInvalidUtf8) {
  EXPECT_EQ(json_escape("a\"b\\c\x01"), "a\\\"b\\\\c\\u0001");
  EXPECT_EQ(json_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(json_escape("bad\xC3("), "bad\xEF\xBF\xBD(");
  EXPECT_EQ(json_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

}  // namespace
}  // namespace parley::ops
