#include "ops/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace parley::ops {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsAreValid) {
  auto c = load_config("", {}, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->http.port, 8080);
  EXPECT_EQ(c->store.synchronous, "full");
  EXPECT_EQ(c->auth.registration, auth::RegistrationMode::kOpen);
  EXPECT_EQ(c->log.format, "json");
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlagsWin) {
  auto file = write("p.toml", R"(
node_id = 7
[http]
port = 9000
bind = "0.0.0.0"
allowed_origins = ["https://a.example", "https://b.example"]
[auth]
registration = "closed"
ip_attempts_per_minute = 5
[log]
level = "debug"
)");
  Env env{{"PARLEY_HTTP_PORT", "9001"}, {"PARLEY_LOG_LEVEL", "warn"}, {"PARLEY_NODE_ID", "8"},
          {"HOME", "/root"}, {"PARLEY_NOT_A_SETTING", "x"}};
  std::map<std::string, std::string> flags{{"http.port", "9002"}};
  auto c = load_config(file, env, flags);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->http.port, 9002);          // flag beats env beats file
  EXPECT_EQ(c->log.level, "warn");        // env beats file
  EXPECT_EQ(c->node_id, 8);               // top-level setting from env
  EXPECT_EQ(c->http.bind, "0.0.0.0");     // file beats default
  EXPECT_EQ(c->auth.registration, auth::RegistrationMode::kClosed);
  EXPECT_DOUBLE_EQ(c->auth.ip_attempts_per_minute, 5);
  EXPECT_EQ(c->http.allowed_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST_F(ConfigTest, ListsAreCommaSeparatedInEnvAndFlags) {
  auto c = load_config("", {{"PARLEY_HTTP_ALLOWED_ORIGINS", "https://x.example, https://y.example,"}}, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->http.allowed_origins,
            (std::vector<std::string>{"https://x.example", "https://y.example"}));
}

TEST_F(ConfigTest, AnySettingCanComeFromAFile) {
  auto secret = write("invite", "  s3cret-code\n");
  auto port = write("port", "7000\n");
  auto c = load_config("", {{"PARLEY_AUTH_REGISTRATION", "invite"},
                            {"PARLEY_AUTH_INVITE_CODE_FILE", secret},
                            {"PARLEY_HTTP_PORT_FILE", port}},
                       {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->auth.registration, auth::RegistrationMode::kInviteOnly);
  EXPECT_EQ(c->auth.invite_code, "s3cret-code");
  EXPECT_EQ(c->http.port, 7000);
}

TEST_F(ConfigTest, MissingSecretFileAndDoubleSourceAreErrors) {
  auto missing = load_config("", {{"PARLEY_AUTH_INVITE_CODE_FILE", (dir_ / "nope").string()}}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("PARLEY_AUTH_INVITE_CODE_FILE"), std::string::npos);

  auto f = write("code", "x");
  auto both = load_config("", {{"PARLEY_AUTH_INVITE_CODE", "a"}, {"PARLEY_AUTH_INVITE_CODE_FILE", f}}, {});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().message.rfind("auth.invite_code:", 0), 0u) << both.error().message;
}

TEST_F(ConfigTest, BadValuesNameTheSetting) {
  auto expect_error = [](const core::Result<Config>& r, const std::string& prefix) {
    ASSERT_FALSE(r.ok()) << "expected an error starting with " << prefix;
    EXPECT_EQ(r.error().message.rfind(prefix, 0), 0u) << r.error().message;
  };
  expect_error(load_config("", {}, {{"http.port", "70000"}}), "http.port: must be 0..65535");
  expect_error(load_config("", {}, {{"http.port", "80x"}}), "http.port: must be an integer");
  expect_error(load_config("", {{"PARLEY_STORE_SYNCHRONOUS", "off"}}, {}),
               "store.synchronous: must be full or normal");
  expect_error(load_config("", {}, {{"log.level", "verbose"}}),
               "log.level: must be one of trace, debug, info, warn, error");
  expect_error(load_config("", {}, {{"auth.registration", "sometimes"}}),
               "auth.registration: must be open, invite or closed");
  expect_error(load_config("", {}, {{"auth.registration", "invite"}}),
               "auth.invite_code: required when auth.registration = invite");
  expect_error(load_config("", {}, {{"node_id", "256"}}), "node_id: must be 0..255");
  expect_error(load_config("", {}, {{"gateway.max_frame_bytes", "-1"}}),
               "gateway.max_frame_bytes: must not be negative");
  expect_error(load_config("", {}, {{"gateway.outbound_queue_bytes", "100"}}),
               "gateway.outbound_queue_bytes: must be at least 1024");
  expect_error(load_config("", {}, {{"gateway.frames_per_second", "fast"}}),
               "gateway.frames_per_second: must be a number");
  expect_error(load_config("", {}, {{"files.workers", "0"}}), "files.workers: must be 1..64");
  expect_error(load_config("", {}, {{"files.quota_bytes", "-5"}}), "files.quota_bytes: must be >= 0");
  expect_error(load_config("", {}, {{"files.allowed_types", "image/png,exe"}}),
               "files.allowed_types: 'exe' is not a media type");
  expect_error(load_config("", {}, {{"files.max_upload_bytes", "0"}}),
               "files.max_upload_bytes: must be positive");
  expect_error(load_config("", {}, {{"gateway.presence_idle_ms", "999"}}),
               "gateway.presence_idle_ms: must be at least 1000");
  expect_error(load_config("", {}, {{"chat.mention_all_min_members", "-1"}}),
               "chat.mention_all_min_members: must be 0..1000000");
  auto ok = load_config("", {{"PARLEY_CHAT_MENTION_ALL_MIN_MEMBERS", "5"}}, {});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->chat.mention_all_min_members, 5);
}

TEST_F(ConfigTest, FilesSettings) {
  auto c = load_config("", {{"PARLEY_FILES_ALLOWED_TYPES", "image/*, application/pdf"}},
                       {{"files.max_upload_bytes", "5000000"}, {"files.quota_bytes", "0"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->files.allowed_types, (std::vector<std::string>{"image/*", "application/pdf"}));
  EXPECT_EQ(c->files.max_upload_bytes, 5000000);
  EXPECT_EQ(c->files.quota_bytes, 0) << "0 = unlimited";
  EXPECT_EQ(Config{}.files.max_upload_bytes, 100LL << 20) << "default 100 MiB";
}

TEST_F(ConfigTest, SettingsTheTestHarnessUsesAreAccepted) {
  // A queue smaller than the largest frame is legitimate (slow-consumer tests use 32 KiB).
  auto c = load_config("", {}, {{"gateway.outbound_queue_bytes", "32768"},
                                {"gateway.identify_timeout_ms", "500"},
                                {"auth.ip_attempts_per_minute", "100000"},
                                {"http.port", "0"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->gateway.outbound_queue_bytes, 32768u);
  EXPECT_EQ(c->http.port, 0);
}

TEST_F(ConfigTest, WrongTomlTypesNameTheSetting) {
  auto file = write("t.toml", "[http]\nport = \"8080\"\n");
  auto r = load_config(file, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "http.port: must be an integer");
}

TEST_F(ConfigTest, UnknownKeysAreErrors) {
  auto typo = write("typo.toml", "[http]\nprot = 1\n");
  auto r1 = load_config(typo, {}, {});
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("\"http.prot\""), std::string::npos) << r1.error().message;

  auto section = write("sec.toml", "[htpp]\nport = 1\n");
  auto r2 = load_config(section, {}, {});
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("\"htpp\""), std::string::npos) << r2.error().message;

  auto r3 = load_config("", {}, {{"http.prot", "1"}});
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("http.prot"), std::string::npos) << r3.error().message;
}

TEST_F(ConfigTest, UnreadableOrMalformedFileIsAnError) {
  auto missing = load_config((dir_ / "missing.toml").string(), {}, {});
  EXPECT_FALSE(missing.ok());
  auto broken = write("broken.toml", "[http\nport = 1\n");
  auto r = load_config(broken, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("broken.toml:1"), std::string::npos) << r.error().message;
}

TEST_F(ConfigTest, RenderRedactsTheInviteCodeAndRoundTrips) {
  auto c = load_config("", {{"PARLEY_AUTH_REGISTRATION", "invite"},
                            {"PARLEY_AUTH_INVITE_CODE", "top-secret"},
                            {"PARLEY_HTTP_ALLOWED_ORIGINS", "https://a.example"},
                            {"PARLEY_GATEWAY_FRAMES_PER_SECOND", "12.5"}},
                       {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  std::string text = render_config(*c);
  EXPECT_EQ(text.find("top-secret"), std::string::npos) << text;
  EXPECT_NE(text.find("invite_code = \"<redacted>\""), std::string::npos) << text;

  // The rendered text is a valid config file that loads back to the same values.
  auto again = load_config(write("rendered.toml", text), {}, {});
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << text;
  EXPECT_EQ(again->auth.invite_code, "<redacted>");
  EXPECT_EQ(again->http.allowed_origins, c->http.allowed_origins);
  EXPECT_DOUBLE_EQ(again->gateway.frames_per_second, 12.5);
  EXPECT_EQ(again->auth.idle_timeout_ms, c->auth.idle_timeout_ms);
  EXPECT_EQ(render_config(*again), text);

  // With no invite code there is nothing to redact.
  auto plain = load_config("", {}, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(render_config(*plain).find("invite_code = \"\""), std::string::npos);
}

}  // namespace
}  // namespace parley::ops
