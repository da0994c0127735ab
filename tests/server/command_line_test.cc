#include "server/command_line.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mailroom::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CommandLineTest, NoCommandMeansRun) {
  absl::StatusOr<CommandLine> parsed = ParseCommandLine({"--config", "m.yaml"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->command, Command::kRun);
  EXPECT_EQ(parsed->config_file, "m.yaml");
}

TEST(CommandLineTest, ConfigSubcommandsAndBothFlagForms) {
  absl::StatusOr<CommandLine> parsed =
      ParseCommandLine({"config", "check", "--config=m.yaml", "--set", "a.b=1", "--set=c=2"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->command, Command::kConfigCheck);
  EXPECT_EQ(parsed->config_file, "m.yaml");
  EXPECT_THAT(parsed->overrides, ElementsAre("a.b=1", "c=2"));
}

TEST(CommandLineTest, MistakesAreNamed) {
  EXPECT_THAT(ParseCommandLine({"serve"}).status().message(),
              HasSubstr("`serve` is not a command"));
  EXPECT_THAT(ParseCommandLine({"config"}).status().message(), HasSubstr("needs a subcommand"));
  EXPECT_THAT(ParseCommandLine({"config", "show"}).status().message(),
              HasSubstr("`config show` is not a command"));
  EXPECT_THAT(ParseCommandLine({"--config"}).status().message(),
              HasSubstr("--config needs a value"));
  EXPECT_THAT(ParseCommandLine({"--set", "novalue"}).status().message(), HasSubstr("KEY=VALUE"));
  EXPECT_THAT(ParseCommandLine({"--verbose"}).status().message(),
              HasSubstr("`--verbose` is not a flag"));
}

}  // namespace
}  // namespace mailroom::server
