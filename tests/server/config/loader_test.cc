#include "server/config/loader.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/settings.h"
#include "tests/server/config/temp_dir.h"

namespace mailroom::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kSecret[] = "hunter2-s3cret";

class LoaderTest : public ::testing::Test {
 protected:
  // Loads `yaml` as mailroom.yaml with the other sources of `sources`.
  absl::StatusOr<Loaded> LoadYaml(const std::string& yaml, Sources sources = {}) {
    sources.file = dir_.Write("mailroom.yaml", yaml);
    return Load(sources);
  }

  // The problems of a failed load, one per line; fails the test if it loaded.
  std::vector<std::string> Problems(const absl::StatusOr<Loaded>& loaded) {
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
    if (loaded.ok()) return {};
    return absl::StrSplit(loaded.status().message(), '\n');
  }

  // The single problem of a failed load, with the directory removed from the file name.
  std::string Problem(const absl::StatusOr<Loaded>& loaded) {
    const std::vector<std::string> problems = Problems(loaded);
    EXPECT_THAT(problems, SizeIs(1));
    if (problems.empty()) return "";
    std::string problem = problems.front();
    const std::string prefix = dir_.Path("");
    if (problem.rfind(prefix, 0) == 0) problem.erase(0, prefix.size());
    return problem;
  }

  TempDir dir_;
};

// ---------------------------------------------------------------------------------------
// Defaults

TEST_F(LoaderTest, NoFileGivesTheDefaults) {
  const absl::StatusOr<Loaded> loaded = Load(Sources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Config& config = loaded->config;
  EXPECT_EQ(config, DefaultConfig());
  EXPECT_EQ(config.log.level, LogLevel::kInfo);
  EXPECT_EQ(config.log.format, LogFormat::kText);
  EXPECT_EQ(config.database.url, "postgresql://127.0.0.1:5432/mailroom");
  EXPECT_EQ(config.database.pool_size, 8);
  EXPECT_EQ(config.database.connect_timeout, absl::Seconds(5));
  EXPECT_EQ(config.database.retry_initial_backoff, absl::Milliseconds(500));
  EXPECT_EQ(config.database.retry_max_backoff, absl::Seconds(30));
  EXPECT_EQ(config.database.health_check_interval, absl::Seconds(1));
  EXPECT_EQ(config.api.address, "127.0.0.1:50051");
  EXPECT_EQ(config.api.max_receive_message_size, 32 * 1024 * 1024);
  EXPECT_EQ(config.api.max_send_message_size, 32 * 1024 * 1024);
  EXPECT_EQ(config.api.max_concurrent_streams, 100);
  EXPECT_EQ(config.api.keepalive_time, absl::Hours(2));
  EXPECT_EQ(config.api.keepalive_timeout, absl::Seconds(20));
  EXPECT_EQ(config.api.min_client_ping_interval, absl::Minutes(1));
  EXPECT_EQ(config.api.max_connection_idle, absl::Minutes(30));
  EXPECT_EQ(config.api.max_connection_age, absl::Hours(1));
  EXPECT_EQ(config.api.max_connection_age_grace, absl::Minutes(5));
  EXPECT_EQ(config.api.shutdown_grace_period, absl::Seconds(10));
  EXPECT_TRUE(config.api.reflection);
  EXPECT_EQ(config.metrics.address, "127.0.0.1:9090");
  EXPECT_EQ(config.smtp.hostname, "mailroom.local");
  EXPECT_THAT(config.smtp.listeners,
              ElementsAre(ListenerConfig{"smtp", "127.0.0.1", 2525, ListenerTls::kStartTls},
                          ListenerConfig{"smtps", "127.0.0.1", 2465, ListenerTls::kImplicit}));
  EXPECT_EQ(config.smtp.relay, (RelayConfig{"", 25, "", "", RelayTls::kStartTls}));
  EXPECT_THAT(loaded->warnings, IsEmpty());
}

TEST_F(LoaderTest, EmptyFileGivesTheDefaults) {
  for (const char* yaml : {"", "# nothing but a comment\n", "---\n", "log:\n"}) {
    const absl::StatusOr<Loaded> loaded = LoadYaml(yaml);
    ASSERT_TRUE(loaded.ok()) << yaml << ": " << loaded.status();
    EXPECT_EQ(loaded->config, DefaultConfig()) << yaml;
  }
}

TEST_F(LoaderTest, FileOverridesDefaultsOfEveryKind) {
  const absl::StatusOr<Loaded> loaded = LoadYaml(R"(log:
  level: debug
  format: json
database:
  pool_size: 16
  connect_timeout: 1h30m
api:
  address: "[::1]:6000"
  max_receive_message_size: 512KiB
  max_send_message_size: 1048576
  reflection: false
  shutdown_grace_period: 0
metrics:
  address: ""
smtp:
  relay:
    host: relay.example.com
    tls: implicit
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Config& config = loaded->config;
  EXPECT_EQ(config.log.level, LogLevel::kDebug);
  EXPECT_EQ(config.log.format, LogFormat::kJson);
  EXPECT_EQ(config.database.pool_size, 16);
  EXPECT_EQ(config.database.connect_timeout, absl::Minutes(90));
  EXPECT_EQ(config.database.retry_max_backoff, absl::Seconds(30));  // Untouched.
  EXPECT_EQ(config.api.address, "[::1]:6000");
  EXPECT_EQ(config.api.max_receive_message_size, 512 * 1024);
  EXPECT_EQ(config.api.max_send_message_size, 1048576);
  EXPECT_FALSE(config.api.reflection);
  EXPECT_EQ(config.api.shutdown_grace_period, absl::ZeroDuration());
  EXPECT_EQ(config.metrics.address, "");
  EXPECT_EQ(config.smtp.relay.host, "relay.example.com");
  EXPECT_EQ(config.smtp.relay.tls, RelayTls::kImplicit);
  EXPECT_EQ(config.smtp.relay.port, 25);
  EXPECT_THAT(config.smtp.listeners, SizeIs(2));
}

// ---------------------------------------------------------------------------------------
// Unknown keys

TEST_F(LoaderTest, TypoInARelaySettingNamesFileLineAndSuggestion) {
  const absl::StatusOr<Loaded> loaded = LoadYaml(R"(log:
  level: info
database:
  pool_size: 8
api:
  address: 127.0.0.1:50051
metrics:
  address: 127.0.0.1:9090
smtp:
  hostname: mailroom.local
  relay:
    pasword: x
)");
  EXPECT_EQ(Problem(loaded),
            "mailroom.yaml:12: `smtp.relay.pasword` is not a setting; did you mean "
            "`smtp.relay.password`?");
}

TEST_F(LoaderTest, TyposAtEveryDepthAreSuggested) {
  EXPECT_EQ(Problem(LoadYaml("lgo:\n  level: info\n")),
            "mailroom.yaml:1: `lgo` is not a setting; did you mean `log`?");
  EXPECT_EQ(Problem(LoadYaml("database:\n  url: x\n  pool_sise: 3\n")),
            "mailroom.yaml:3: `database.pool_sise` is not a setting; did you mean "
            "`database.pool_size`?");
  EXPECT_EQ(Problem(LoadYaml("api:\n  keepalive_tiem: 1h\n")),
            "mailroom.yaml:2: `api.keepalive_tiem` is not a setting; did you mean "
            "`api.keepalive_time`?");
  EXPECT_EQ(Problem(LoadYaml("smtp:\n  relay:\n    password_fiel: /x\n")),
            "mailroom.yaml:3: `smtp.relay.password_fiel` is not a setting; did you mean "
            "`smtp.relay.password_file`?");
  // The misspelt key also leaves a required setting out: both are reported.
  EXPECT_THAT(Problems(LoadYaml("smtp:\n"
                                "  listeners:\n"
                                "    - name: a\n"
                                "      port: 25\n"
                                "    - name: b\n"
                                "      prot: 26\n")),
              ElementsAre(HasSubstr("mailroom.yaml:6: `smtp.listeners[1].prot` is not a setting; "
                                    "did you mean `smtp.listeners[1].port`?"),
                          HasSubstr("mailroom.yaml:5: `smtp.listeners[1].port` is required")));
}

TEST_F(LoaderTest, ASettingInTheWrongSectionIsSuggested) {
  EXPECT_EQ(Problem(LoadYaml("pool_size: 8\n")),
            "mailroom.yaml:1: `pool_size` is not a setting; did you mean `database.pool_size`?");
}

TEST_F(LoaderTest, UnknownKeyWithNothingCloseHasNoSuggestion) {
  EXPECT_EQ(Problem(LoadYaml("database:\n  flux_capacitor: 88\n")),
            "mailroom.yaml:2: `database.flux_capacitor` is not a setting");
}

TEST_F(LoaderTest, KeyGivenTwiceIsAnError) {
  EXPECT_EQ(Problem(LoadYaml("api:\n  reflection: true\n  reflection: false\n")),
            "mailroom.yaml:3: `api.reflection` is given twice (first on line 2)");
}

// ---------------------------------------------------------------------------------------
// Types and ranges

TEST_F(LoaderTest, IntegerErrorsNameTheRange) {
  EXPECT_EQ(Problem(LoadYaml("log:\n  level: info\ndatabase:\n  pool_size: lots\n")),
            "mailroom.yaml:4: `database.pool_size` must be an integer from 1 to 64, got `lots`");
  EXPECT_EQ(Problem(LoadYaml("database:\n  pool_size: 65\n")),
            "mailroom.yaml:2: `database.pool_size` must be an integer from 1 to 64, got `65`");
  EXPECT_EQ(Problem(LoadYaml("database:\n  pool_size: 0\n")),
            "mailroom.yaml:2: `database.pool_size` must be an integer from 1 to 64, got `0`");
  EXPECT_EQ(Problem(LoadYaml("api:\n  max_concurrent_streams: 2.5\n")),
            "mailroom.yaml:2: `api.max_concurrent_streams` must be an integer from 1 to 10000, "
            "got `2.5`");
  EXPECT_EQ(Problem(LoadYaml("database:\n  pool_size:\n")),
            "mailroom.yaml:2: `database.pool_size` must be an integer from 1 to 64, got nothing");
}

TEST_F(LoaderTest, DurationErrorsSayWhatIsExpected) {
  EXPECT_EQ(Problem(LoadYaml("database:\n  connect_timeout: 10 parsecs\n")),
            "mailroom.yaml:2: `database.connect_timeout` must be a duration of at least 1ms such "
            "as `250ms`, `10s`, `5m` or `1h30m` (units h, m, s, ms), got `10 parsecs`");
  EXPECT_THAT(Problem(LoadYaml("api:\n  keepalive_time: 0\n")),
              HasSubstr("`api.keepalive_time` must be a duration of at least 1ms"));
  EXPECT_THAT(Problem(LoadYaml("api:\n  shutdown_grace_period: 5\n")),
              HasSubstr("`api.shutdown_grace_period` must be a duration such as"));
}

TEST_F(LoaderTest, GoodDurationsAndByteSizesAreAccepted) {
  const absl::StatusOr<Loaded> loaded = LoadYaml(R"(database:
  retry_initial_backoff: 250ms
  retry_max_backoff: 1h30m
  health_check_interval: 10s
api:
  max_connection_idle: 5m
  max_receive_message_size: 4MiB
  max_send_message_size: 32MB
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.database.retry_initial_backoff, absl::Milliseconds(250));
  EXPECT_EQ(loaded->config.database.retry_max_backoff, absl::Minutes(90));
  EXPECT_EQ(loaded->config.database.health_check_interval, absl::Seconds(10));
  EXPECT_EQ(loaded->config.api.max_connection_idle, absl::Minutes(5));
  EXPECT_EQ(loaded->config.api.max_receive_message_size, 4 * 1024 * 1024);
  EXPECT_EQ(loaded->config.api.max_send_message_size, 32 * 1000 * 1000);
}

TEST_F(LoaderTest, ByteSizeErrorsSayWhatIsExpected) {
  EXPECT_EQ(Problem(LoadYaml("api:\n  max_receive_message_size: 12XB\n")),
            "mailroom.yaml:2: `api.max_receive_message_size` must be a byte size from 1 byte to "
            "2147483647 bytes, such as `512KiB`, `32MiB`, `1GB` or a number of bytes, got `12XB`");
  EXPECT_THAT(Problem(LoadYaml("api:\n  max_send_message_size: 2GiB\n")), HasSubstr("got `2GiB`"));
}

TEST_F(LoaderTest, EnumErrorsListTheAllowedValues) {
  EXPECT_EQ(Problem(LoadYaml("log:\n  level: verbose\n")),
            "mailroom.yaml:2: `log.level` must be one of `debug`, `info`, `warn` or `error`, got "
            "`verbose`");
  EXPECT_EQ(Problem(LoadYaml("smtp:\n  relay:\n    tls: ssl\n")),
            "mailroom.yaml:3: `smtp.relay.tls` must be one of `none`, `starttls` or `implicit`, "
            "got `ssl`");
}

TEST_F(LoaderTest, BoolAndAddressErrors) {
  EXPECT_EQ(Problem(LoadYaml("api:\n  reflection: maybe\n")),
            "mailroom.yaml:2: `api.reflection` must be `true` or `false`, got `maybe`");
  EXPECT_EQ(Problem(LoadYaml("api:\n  address: localhost\n")),
            "mailroom.yaml:2: `api.address` must be an address host:port with a port from 1 to "
            "65535 (IPv6 as `[::1]:50051`), got `localhost`");
  EXPECT_THAT(Problem(LoadYaml("api:\n  address: \"\"\n")), HasSubstr("got ``"));
  EXPECT_THAT(Problem(LoadYaml("metrics:\n  address: 127.0.0.1:70000\n")),
              HasSubstr("or empty to turn it off, got `127.0.0.1:70000`"));
}

TEST_F(LoaderTest, WrongShapesAreErrors) {
  EXPECT_EQ(Problem(LoadYaml("database:\n  pool_size: [1, 2]\n")),
            "mailroom.yaml:2: `database.pool_size` must be an integer from 1 to 64, got a list");
  EXPECT_EQ(Problem(LoadYaml("api:\n  address:\n    host: x\n")),
            "mailroom.yaml:2: `api.address` must be an address host:port with a port from 1 to "
            "65535 (IPv6 as `[::1]:50051`), got a map");
  EXPECT_EQ(Problem(LoadYaml("database: postgres\n")),
            "mailroom.yaml:1: `database` is a section: it must be a map of settings, got "
            "`postgres`");
  EXPECT_EQ(Problem(LoadYaml("- log\n")),
            "mailroom.yaml:1: the top level must be a map of sections, got a list");
  EXPECT_THAT(Problem(LoadYaml("smtp:\n  listeners: 25\n")),
              HasSubstr("mailroom.yaml:2: `smtp.listeners` must be a list of sections"));
}

// ---------------------------------------------------------------------------------------
// Several problems, syntax, missing file

TEST_F(LoaderTest, EveryProblemOfTheFileIsReportedTogether) {
  const absl::StatusOr<Loaded> loaded = LoadYaml(R"(log:
  levle: info
database:
  pool_size: 100
api:
  reflection: maybe
  address: 127.0.0.1:50051
smtp:
  listeners:
    - name: a
      port: 99999
)");
  const std::vector<std::string> problems = Problems(loaded);
  ASSERT_THAT(problems, SizeIs(4));
  EXPECT_THAT(problems[0], HasSubstr("mailroom.yaml:2: `log.levle` is not a setting; did you "
                                     "mean `log.level`?"));
  EXPECT_THAT(problems[1], HasSubstr("mailroom.yaml:4: `database.pool_size` must be"));
  EXPECT_THAT(problems[2], HasSubstr("mailroom.yaml:6: `api.reflection` must be"));
  EXPECT_THAT(problems[3], HasSubstr("mailroom.yaml:11: `smtp.listeners[0].port` must be"));
}

TEST_F(LoaderTest, ProblemsFromAllSourcesAreReportedTogether) {
  Sources sources;
  sources.environment = {{"MAILROOM_DATABASE_POOL_SIZE", "lots"}};
  sources.overrides = {"log.level=loud"};
  const std::vector<std::string> problems =
      Problems(LoadYaml("api:\n  reflection: maybe\n", sources));
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_THAT(problems[0], HasSubstr("mailroom.yaml:2: `api.reflection`"));
  EXPECT_EQ(problems[1],
            "environment MAILROOM_DATABASE_POOL_SIZE: `database.pool_size` must be an integer "
            "from 1 to 64, got `lots`");
  EXPECT_EQ(problems[2],
            "flag --set log.level: `log.level` must be one of `debug`, `info`, `warn` or "
            "`error`, got `loud`");
}

TEST_F(LoaderTest, YamlSyntaxErrorNamesFileAndLine) {
  const std::string problem = Problem(LoadYaml("log:\n  level: info\napi:\n  address: [oops\n"));
  EXPECT_THAT(problem, HasSubstr("mailroom.yaml:"));
  EXPECT_THAT(problem, HasSubstr("invalid YAML"));
  const std::string tabs = Problem(LoadYaml("log:\n  level: info\n   bad: indent: here\n"));
  EXPECT_THAT(tabs, HasSubstr("mailroom.yaml:3: invalid YAML"));
}

TEST_F(LoaderTest, MissingFileIsAnError) {
  Sources sources;
  sources.file = dir_.Path("absent.yaml");
  const absl::StatusOr<Loaded> loaded = Load(sources);
  EXPECT_THAT(Problem(loaded), HasSubstr("absent.yaml: cannot read the config file: No such file"));
}

// ---------------------------------------------------------------------------------------
// Environment and flags

TEST_F(LoaderTest, EnvironmentOverridesTheFileAndFlagsOverrideTheEnvironment) {
  Sources sources;
  sources.environment = {{"MAILROOM_DATABASE_POOL_SIZE", "16"},
                         {"MAILROOM_API_MAX_CONCURRENT_STREAMS", "200"},
                         {"MAILROOM_LOG_LEVEL", "warn"}};
  sources.overrides = {"database.pool_size=32", "api.keepalive_time=10m"};
  const absl::StatusOr<Loaded> loaded =
      LoadYaml("database:\n  pool_size: 4\n  connect_timeout: 2s\nlog:\n  level: error\n", sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.database.pool_size, 32);                      // Flag.
  EXPECT_EQ(loaded->config.api.max_concurrent_streams, 200);             // Environment.
  EXPECT_EQ(loaded->config.log.level, LogLevel::kWarn);                  // Environment.
  EXPECT_EQ(loaded->config.database.connect_timeout, absl::Seconds(2));  // File.
  EXPECT_EQ(loaded->config.api.keepalive_time, absl::Minutes(10));       // Flag.
  EXPECT_THAT(loaded->warnings, IsEmpty());
}

TEST_F(LoaderTest, UnknownEnvironmentVariablesAreWarnings) {
  Sources sources;
  sources.environment = {{"MAILROOM_DATABSE_URL", "x"},
                         {"MAILROOM_TEST_DATABASE_URL", "postgresql://elsewhere"},
                         {"HOME", "/root"}};
  const absl::StatusOr<Loaded> loaded = Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->warnings,
              ElementsAre("environment MAILROOM_DATABSE_URL is not a setting; did you mean "
                          "MAILROOM_DATABASE_URL?",
                          "environment MAILROOM_TEST_DATABASE_URL is not a setting; ignored"));
  EXPECT_EQ(loaded->config, DefaultConfig());
}

TEST_F(LoaderTest, FlagErrorsNameTheFlag) {
  Sources sources;
  sources.overrides = {"database.pool_sise=3", "api.reflection", "database=x"};
  const std::vector<std::string> problems = Problems(Load(sources));
  EXPECT_THAT(problems,
              ElementsAre("flag --set api.reflection: expected key=value",
                          "flag --set database.pool_sise: `database.pool_sise` is not a setting; "
                          "did you mean `database.pool_size`?",
                          "flag --set database: `database` is a section; set one of its "
                          "settings, such as `database.url`"));
}

TEST_F(LoaderTest, FlagValuesMayContainEqualsSigns) {
  Sources sources;
  sources.overrides = {"database.url=postgresql:///mailroom?sslmode=disable"};
  const absl::StatusOr<Loaded> loaded = Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.database.url, "postgresql:///mailroom?sslmode=disable");
}

TEST_F(LoaderTest, MailroomEnvironmentReadsOnlyMailroomVariables) {
  ASSERT_EQ(setenv("MAILROOM_CONFIG_TEST_PROBE", "a=b", 1), 0);
  ASSERT_EQ(setenv("CONFIG_TEST_OTHER_PROBE", "x", 1), 0);
  const std::vector<std::pair<std::string, std::string>> variables = MailroomEnvironment();
  unsetenv("MAILROOM_CONFIG_TEST_PROBE");
  unsetenv("CONFIG_TEST_OTHER_PROBE");
  EXPECT_THAT(variables, testing::Contains(std::make_pair(std::string("MAILROOM_CONFIG_TEST_PROBE"),
                                                          std::string("a=b"))));
  for (const auto& [name, value] : variables) EXPECT_EQ(name.rfind("MAILROOM_", 0), 0u) << name;
}

// ---------------------------------------------------------------------------------------
// Users and mailboxes (lists with nested sections and lists)

TEST_F(LoaderTest, MailboxesWithNestedRulesAndUsersWithSecretFiles) {
  const std::string password = dir_.Write("alice-password", std::string(kSecret) + "\n");
  const absl::StatusOr<Loaded> loaded = LoadYaml(
      "mailboxes:\n"
      "  - name: qa\n"
      "    position: -3\n"
      "    rules:\n"
      "      - recipient: {glob: \"*@qa.example.com\"}\n"
      "        description: QA\n"
      "      - header: {name: X-Env, exists: false}\n"
      "      - source: {client_network: 10.0.0.0/8}\n"
      "  - name: ci\n"
      "users:\n"
      "  - username: alice\n"
      "    password_file: " +
      password +
      "\n"
      "    default_mailbox: qa\n"
      "  - username: bob\n"
      "    password: pw\n"
      "    enabled: false\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Config& config = loaded->config;
  ASSERT_THAT(config.mailboxes, SizeIs(2));
  EXPECT_EQ(config.mailboxes[0].position, -3);
  ASSERT_THAT(config.mailboxes[0].rules, SizeIs(3));
  EXPECT_EQ(config.mailboxes[0].rules[0].recipient.glob, "*@qa.example.com");
  EXPECT_EQ(config.mailboxes[0].rules[0].description, "QA");
  EXPECT_EQ(config.mailboxes[0].rules[1].header.name, "X-Env");
  EXPECT_EQ(config.mailboxes[0].rules[1].header.exists, HeaderPresence::kAbsent);
  EXPECT_EQ(config.mailboxes[0].rules[2].source.client_network, "10.0.0.0/8");
  EXPECT_EQ(config.mailboxes[0].rules[2].header.exists, HeaderPresence::kUnset);
  EXPECT_THAT(config.mailboxes[1].rules, IsEmpty());
  ASSERT_THAT(config.users, SizeIs(2));
  EXPECT_EQ(config.users[0].password, kSecret);
  EXPECT_EQ(config.users[0].default_mailbox, "qa");
  EXPECT_TRUE(config.users[0].enabled);
  EXPECT_FALSE(config.users[1].enabled);
}

TEST_F(LoaderTest, TypoInANestedRuleNamesItsFullPath) {
  EXPECT_EQ(Problem(LoadYaml("mailboxes:\n"
                             "  - name: qa\n"
                             "    rules:\n"
                             "      - recipient: {glob: x}\n"
                             "      - sourse: {ehlo_name: \"*.ci\"}\n")),
            "mailroom.yaml:5: `mailboxes[0].rules[1].sourse` is not a setting; did you mean "
            "`mailboxes[0].rules[1].source`?");
}

TEST_F(LoaderTest, AUserWithoutPasswordIsAnError) {
  EXPECT_THAT(Problem(LoadYaml("users:\n  - username: alice\n")), HasSubstr("`users[0].password`"));
}

TEST_F(LoaderTest, NestedListItemsCanBeSetFromFlags) {
  Sources sources;
  sources.overrides = {R"(mailboxes=[{name: qa, rules: [{recipient: {domain: qa.example.com}}]}])"};
  const absl::StatusOr<Loaded> loaded = Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_THAT(loaded->config.mailboxes, SizeIs(1));
  ASSERT_THAT(loaded->config.mailboxes[0].rules, SizeIs(1));
  EXPECT_EQ(loaded->config.mailboxes[0].rules[0].recipient.domain, "qa.example.com");
}

// ---------------------------------------------------------------------------------------
// Secrets

TEST_F(LoaderTest, SecretFromFileDropsOneTrailingNewline) {
  const std::string url = dir_.Write("url", std::string("postgresql://u:") + kSecret + "@db/m\n");
  const std::string password = dir_.Write("password", std::string(kSecret) + "\n\n");
  const absl::StatusOr<Loaded> loaded = LoadYaml(
      "database:\n  url_file: " + url + "\nsmtp:\n  relay:\n    password_file: " + password + "\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.database.url, std::string("postgresql://u:") + kSecret + "@db/m");
  EXPECT_EQ(loaded->config.smtp.relay.password, std::string(kSecret) + "\n");
}

TEST_F(LoaderTest, SecretFileFromEnvironmentAndFlags) {
  const std::string url = dir_.Write("url", "postgresql://from-file\n");
  const std::string password = dir_.Write("password", kSecret);
  Sources sources;
  sources.environment = {{"MAILROOM_DATABASE_URL_FILE", url}};
  sources.overrides = {"smtp.relay.password_file=" + password};
  // The environment's file form beats the file's plain value: later sources win.
  const absl::StatusOr<Loaded> loaded = LoadYaml("database:\n  url: postgresql://plain\n", sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.database.url, "postgresql://from-file");
  EXPECT_EQ(loaded->config.smtp.relay.password, kSecret);
}

TEST_F(LoaderTest, SecretAndItsFileTogetherIsAnErrorThatHidesTheSecret) {
  const std::string file = dir_.Write("password", kSecret);
  const std::string problem = Problem(LoadYaml(std::string("smtp:\n  relay:\n    password: ") +
                                               kSecret + "\n    password_file: " + file + "\n"));
  EXPECT_EQ(problem,
            "mailroom.yaml:4: `smtp.relay.password` and `smtp.relay.password_file` are both "
            "given; give only one");

  Sources sources;
  sources.environment = {{"MAILROOM_DATABASE_URL", kSecret}, {"MAILROOM_DATABASE_URL_FILE", file}};
  const std::vector<std::string> problems = Problems(Load(sources));
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("environment MAILROOM_DATABASE_URL_FILE: `database.url` and "
                                     "`database.url_file` are both given"));
  EXPECT_THAT(problems[0], Not(HasSubstr(kSecret)));
}

TEST_F(LoaderTest, UnreadableSecretFileNamesKeyAndPath) {
  const std::string missing = dir_.Path("no-such-secret");
  EXPECT_EQ(Problem(LoadYaml("database:\n  url_file: " + missing + "\n")),
            "mailroom.yaml:2: cannot read `database.url_file` from `" + missing +
                "`: No such file or directory");
  Sources sources;
  sources.environment = {{"MAILROOM_SMTP_RELAY_PASSWORD_FILE", dir_.Path("")}};  // A directory.
  EXPECT_THAT(Problem(Load(sources)),
              HasSubstr("environment MAILROOM_SMTP_RELAY_PASSWORD_FILE: cannot read "
                        "`smtp.relay.password_file`"));
}

TEST_F(LoaderTest, NoMessageEverShowsASecretValue) {
  const std::string secret(kSecret);
  // Wrong shape of a secret, a misspelt secret key, and a bad setting next to a secret.
  const std::vector<std::string> problems = Problems(
      LoadYaml("database:\n  url:\n    - " + secret + "\n  ulr: " + secret +
               "\n  pool_size: " + secret + "x\nsmtp:\n  relay:\n    pasword: " + secret + "\n"));
  ASSERT_THAT(problems, SizeIs(4));
  for (const std::string& problem : problems) {
    // pool_size is not a secret: its bad value is quoted to help the user.
    if (problem.find("`database.pool_size`") != std::string::npos) {
      EXPECT_THAT(problem, HasSubstr("got `" + secret + "x`"));
      continue;
    }
    EXPECT_THAT(problem, Not(HasSubstr(secret)));
  }
}

// ---------------------------------------------------------------------------------------
// Lists

TEST_F(LoaderTest, ListItemsGetPerItemDefaults) {
  const absl::StatusOr<Loaded> loaded = LoadYaml(R"(smtp:
  listeners:
    - name: mx
      port: 25
    - name: submissions
      address: 0.0.0.0
      port: 465
      tls: implicit
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->config.smtp.listeners,
              ElementsAre(ListenerConfig{"mx", "127.0.0.1", 25, ListenerTls::kStartTls},
                          ListenerConfig{"submissions", "0.0.0.0", 465, ListenerTls::kImplicit}));
}

TEST_F(LoaderTest, AnEmptyListHasNoItems) {
  const absl::StatusOr<Loaded> loaded = LoadYaml("smtp:\n  listeners: []\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->config.smtp.listeners, IsEmpty());
}

TEST_F(LoaderTest, ListItemErrorsNameTheIndex) {
  const std::vector<std::string> problems = Problems(LoadYaml(R"(smtp:
  listeners:
    - name: a
      port: 25
    - name: b
      port: 70000
      tls: none
    - address: 10.0.0.1
    - just-a-word
)"));
  EXPECT_THAT(problems,
              ElementsAre(HasSubstr(":6: `smtp.listeners[1].port` must be an integer from 1 to "
                                    "65535, got `70000`"),
                          HasSubstr(":7: `smtp.listeners[1].tls` must be one of `starttls` or "
                                    "`implicit`, got `none`"),
                          HasSubstr(":8: `smtp.listeners[2].name` is required (a non-empty "
                                    "string)"),
                          HasSubstr(":8: `smtp.listeners[2].port` is required (an integer from 1 "
                                    "to 65535)"),
                          HasSubstr(":9: `smtp.listeners[3]` must be a map of settings, got "
                                    "`just-a-word`")));
}

TEST_F(LoaderTest, DuplicateListenerNamesAndPortsAreErrors) {
  const std::vector<std::string> problems = Problems(LoadYaml(R"(smtp:
  listeners:
    - name: mx
      port: 25
    - name: mx
      port: 587
    - name: other
      address: 0.0.0.0
      port: 25
    - name: elsewhere
      address: 10.0.0.2
      port: 587
)"));
  EXPECT_THAT(problems,
              ElementsAre(HasSubstr("mailroom.yaml:5: `smtp.listeners[1].name` repeats `mx`, the "
                                    "name of `smtp.listeners[0]`; listener names must be unique"),
                          HasSubstr("mailroom.yaml:9: `smtp.listeners[2].port` repeats port 25 of "
                                    "`smtp.listeners[0]` on the same address")));
}

TEST_F(LoaderTest, ListsFromEnvironmentAndFlags) {
  Sources sources;
  sources.environment = {
      {"MAILROOM_SMTP_LISTENERS", "[{name: mx, port: 25}, {name: sub, port: 587}]"},
      {"MAILROOM_SMTP_LISTENERS_0_ADDRESS", "0.0.0.0"}};
  sources.overrides = {"smtp.listeners[1].tls=implicit"};
  const absl::StatusOr<Loaded> loaded = Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->config.smtp.listeners,
              ElementsAre(ListenerConfig{"mx", "0.0.0.0", 25, ListenerTls::kStartTls},
                          ListenerConfig{"sub", "127.0.0.1", 587, ListenerTls::kImplicit}));
}

TEST_F(LoaderTest, ListItemOverridesMustAddressExistingItems) {
  Sources sources;
  sources.overrides = {"smtp.listeners[2].port=2600", "smtp.listeners[0]=x",
                       "smtp.listeners=[{port: 25}]"};
  EXPECT_THAT(Problems(Load(sources)),
              ElementsAre("flag --set smtp.listeners[2].port: `smtp.listeners[2]` does not "
                          "exist: `smtp.listeners` has 2 items (items can be changed here, not "
                          "added; give the whole list instead)",
                          "flag --set smtp.listeners[0]: `smtp.listeners[0]` is a list item; set "
                          "one of its settings, such as `smtp.listeners[0].name`",
                          "flag --set smtp.listeners: `smtp.listeners[0].name` is required (a "
                          "non-empty string)"));
}

TEST_F(LoaderTest, BackoffsMustBeOrdered) {
  EXPECT_EQ(Problem(LoadYaml("database:\n  retry_initial_backoff: 1m\n  retry_max_backoff: 10s\n")),
            "mailroom.yaml:2: `database.retry_initial_backoff` (1m) must not exceed "
            "`database.retry_max_backoff` (10s)");
}

}  // namespace
}  // namespace mailroom::config
