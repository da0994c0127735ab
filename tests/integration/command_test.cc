// The mailroom binary's non-serving commands: config check, config defaults, migrate.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/child_process.h"
#include "tests/support/scratch_database.h"

namespace mailroom::testing {
namespace {

using ::testing::HasSubstr;

std::string Binary() { return TestEnvironment("MAILROOM_BINARY"); }

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(::testing::TempDir(), name);
  std::ofstream(path) << contents;
  return path;
}

TEST(ConfigCommand, CheckAcceptsAValidFile) {
  const std::string path = WriteFile("valid.yaml", "log:\n  level: debug\n");
  auto result = RunToCompletion({Binary(), "config", "check", "--config", path});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first, 0) << result->second;
}

TEST(ConfigCommand, CheckNamesTheMisspeltKeyAndExitsTwo) {
  const std::string path =
      WriteFile("typo.yaml", "smtp:\n  relay:\n    host: relay.example.com\n    pasword: x\n");
  auto result = RunToCompletion({Binary(), "config", "check", "--config", path});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first, 2);
  EXPECT_THAT(result->second, HasSubstr("typo.yaml:4"));
  EXPECT_THAT(result->second, HasSubstr("smtp.relay.pasword"));
  EXPECT_THAT(result->second, HasSubstr("did you mean `smtp.relay.password`"));
}

TEST(ConfigCommand, DefaultsAreAValidConfigFile) {
  auto defaults = RunToCompletion({Binary(), "config", "defaults"});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ASSERT_EQ(defaults->first, 0);
  EXPECT_THAT(defaults->second, HasSubstr("# "));
  const std::string path = WriteFile("defaults.yaml", defaults->second);
  auto check = RunToCompletion({Binary(), "config", "check", "--config", path});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->first, 0) << check->second;
}

TEST(ConfigCommand, EnvironmentOverridesAreChecked) {
  auto result =
      RunToCompletion({Binary(), "config", "check"}, {{"MAILROOM_DATABASE_POOL_SIZE", "lots"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first, 2);
  EXPECT_THAT(result->second, HasSubstr("MAILROOM_DATABASE_POOL_SIZE"));
}

TEST(ConfigCommand, UnknownCommandIsAUsageError) {
  auto result = RunToCompletion({Binary(), "serve"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first, 2);
  EXPECT_THAT(result->second, HasSubstr("`serve` is not a command"));
}

TEST(MigrateCommand, TwoProcessesAtOnceBothSucceed) {
  absl::StatusOr<ScratchDatabase> database = ScratchDatabase::Create();
  ASSERT_TRUE(database.ok()) << database.status();
  const ChildProcess::Environment environment = {{"MAILROOM_DATABASE_URL", database->url()}};
  auto first = ChildProcess::Start({Binary(), "migrate"}, environment);
  auto second = ChildProcess::Start({Binary(), "migrate"}, environment);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)->Wait(absl::Seconds(60)), 0) << (*first)->Output();
  EXPECT_EQ((*second)->Wait(absl::Seconds(60)), 0) << (*second)->Output();
  EXPECT_THAT((*first)->Output() + (*second)->Output(), HasSubstr("migrations_applied=0"));
}

}  // namespace
}  // namespace mailroom::testing
