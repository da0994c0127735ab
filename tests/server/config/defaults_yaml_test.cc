#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/loader.h"
#include "server/config/mailroom_schema.h"
#include "server/config/schema.h"
#include "tests/server/config/temp_dir.h"

namespace mailroom::config {
namespace {

using ::testing::HasSubstr;

TEST(DefaultConfigYamlTest, LoadsBackToTheDefaults) {
  TempDir dir;
  const std::string path = dir.Write("defaults.yaml", DefaultConfigYaml());
  Sources sources;
  sources.file = path;
  const absl::StatusOr<Loaded> loaded = Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status() << "\n" << DefaultConfigYaml();
  EXPECT_EQ(loaded->config, DefaultConfig());
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST(DefaultConfigYamlTest, ShowsEverySettingWithItsDoc) {
  const std::string yaml = DefaultConfigYaml();
  EXPECT_THAT(yaml, HasSubstr("database:\n"));
  EXPECT_THAT(yaml, HasSubstr("  # Connections kept open, one per storage thread.\n"
                              "  # An integer from 1 to 64.\n"
                              "  pool_size: 8\n"));
  EXPECT_THAT(
      yaml, HasSubstr("    # A string. Secret: or give `password_file`, a file holding the value.\n"
                      "    password: \"\"\n"));
  EXPECT_THAT(yaml, HasSubstr("  keepalive_time: 2h\n"));
  EXPECT_THAT(yaml, HasSubstr("  max_receive_message_size: 32MiB\n"));
  EXPECT_THAT(yaml, HasSubstr("  listeners:\n"
                              "    - name: smtp\n"
                              "      address: 127.0.0.1\n"
                              "      port: 2525\n"
                              "      tls: starttls\n"
                              "      tls_required: false\n"
                              "      allow_plaintext_auth: false\n"
                              "    - name: smtps\n"));
  EXPECT_THAT(yaml, HasSubstr("  #   port: TCP port to bind.\n"
                              "  #     An integer from 1 to 65535. Required.\n"));
  // Every key the schema knows appears, except the `_file` forms and list items, which are
  // described in comments.
  for (const std::string& key : AllKeys(MailroomSchema())) {
    if (key.ends_with("_file") || key.find("[]") != std::string::npos) continue;
    const std::string last = key.substr(key.rfind('.') + 1);
    EXPECT_THAT(yaml, HasSubstr(last + ":")) << key;
  }
}

}  // namespace
}  // namespace mailroom::config
