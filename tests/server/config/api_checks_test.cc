// The access checks of the gRPC API settings, through the loader (as start-up and `mailroom
// config check` see them), and the loopback test behind the open-API rule.
#include "server/config/api_checks.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/loader.h"
#include "tests/server/config/temp_dir.h"

namespace mailroom::config {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGoodToken[] = "0123456789abcdef0123";

class ApiChecksTest : public ::testing::Test {
 protected:
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

  TempDir dir_;
};

TEST(IsLoopbackHostPortTest, LoopbackAddressesAndLocalhost) {
  for (const char* address : {"127.0.0.1:50051", "127.1.2.3:1", "127.255.255.255:80", "[::1]:50051",
                              "[::ffff:127.0.0.1]:50051", "localhost:50051", "LocalHost:1"}) {
    EXPECT_TRUE(IsLoopbackHostPort(address)) << address;
  }
}

TEST(IsLoopbackHostPortTest, EverythingElseIsNot) {
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:50051", "128.0.0.1:50051", "126.255.255.255:1",
        "[::2]:50051", "[::ffff:10.0.0.1]:50051", "mailroom.example.com:50051",
        "localhost.example.com:50051", "127.0.0.1.nip.io:50051"}) {
    EXPECT_FALSE(IsLoopbackHostPort(address)) << address;
  }
}

TEST_F(ApiChecksTest, DefaultsAreAnOpenApiOnLoopback) {
  const absl::StatusOr<Loaded> loaded = Load(Sources{});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->config.api.tokens.empty());
  EXPECT_TRUE(IsLoopbackHostPort(loaded->config.api.address));
}

TEST_F(ApiChecksTest, OpenApiOnLoopbackIsAllowed) {
  for (const char* address : {"127.0.0.1:50051", "[::1]:50051", "localhost:50051"}) {
    const absl::StatusOr<Loaded> loaded =
        LoadYaml(absl::StrCat("api:\n  address: \"", address, "\"\n"));
    EXPECT_TRUE(loaded.ok()) << address << ": " << loaded.status();
  }
}

TEST_F(ApiChecksTest, OpenApiOnAllInterfacesIsRefusedAndExplained) {
  const std::vector<std::string> problems = Problems(LoadYaml("api:\n  address: 0.0.0.0:50051\n"));
  ASSERT_THAT(problems, ElementsAre(HasSubstr("mailroom.yaml:2: `api.address` (0.0.0.0:50051) "
                                              "is not a loopback address and `api.tokens` is "
                                              "empty")));
  // The message offers each way out.
  EXPECT_THAT(problems[0], AllOf(HasSubstr("configure `api.tokens`"),
                                 HasSubstr("bind `api.address` to 127.0.0.1 or [::1]"),
                                 HasSubstr("set `api.allow_unauthenticated: true`")));
}

TEST_F(ApiChecksTest, OpenApiFromAFlagIsReportedAtTheFlag) {
  Sources sources;
  sources.overrides = {"api.address=[::]:50051"};
  EXPECT_THAT(Problems(Load(sources)),
              ElementsAre(HasSubstr("flag --set api.address: `api.address` ([::]:50051) is not a "
                                    "loopback address")));
}

TEST_F(ApiChecksTest, OpenApiOnAllInterfacesIsAllowedWhenMeant) {
  const absl::StatusOr<Loaded> loaded =
      LoadYaml("api:\n  address: 0.0.0.0:50051\n  allow_unauthenticated: true\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->config.api.allow_unauthenticated);
}

TEST_F(ApiChecksTest, TokensMakeAnyAddressAcceptable) {
  const absl::StatusOr<Loaded> loaded =
      LoadYaml(absl::StrCat("api:\n  address: 0.0.0.0:50051\n  tokens:\n    - name: ci\n"
                            "      token: ",
                            kGoodToken, "\n      role: reader\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->config.api.tokens.size(), 1u);
  EXPECT_EQ(loaded->config.api.tokens[0].role, ApiRole::kReader);
}

TEST_F(ApiChecksTest, ShortTokenIsRefusedWithoutShowingIt) {
  const std::vector<std::string> problems = Problems(LoadYaml(R"(api:
  tokens:
    - name: ci
      token: short-secret
      role: admin
)"));
  EXPECT_THAT(problems, ElementsAre(HasSubstr("mailroom.yaml:4: `api.tokens[0].token` (token "
                                              "`ci`) has 12 characters; a bearer token needs at "
                                              "least 16")));
  EXPECT_THAT(problems, Each(Not(HasSubstr("short-secret"))));
}

TEST_F(ApiChecksTest, ShortTokenFromAFileIsRefusedToo) {
  const std::string file = dir_.Write("token", "tiny\n");
  const std::vector<std::string> problems = Problems(LoadYaml(absl::StrCat(
      "api:\n  tokens:\n    - name: ci\n      token_file: ", file, "\n      role: admin\n")));
  EXPECT_THAT(problems, ElementsAre(HasSubstr("`api.tokens[0].token` (token `ci`) has 4 "
                                              "characters")));
  EXPECT_THAT(problems, Each(Not(HasSubstr("tiny"))));
}

TEST_F(ApiChecksTest, TokenFromAFileIsAccepted) {
  const std::string file = dir_.Write("token", absl::StrCat(kGoodToken, "\n"));
  const absl::StatusOr<Loaded> loaded = LoadYaml(absl::StrCat(
      "api:\n  tokens:\n    - name: ci\n      token_file: ", file, "\n      role: sender\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.api.tokens[0].token, kGoodToken);
}

TEST_F(ApiChecksTest, DuplicateNamesAndValuesAreRefused) {
  const std::vector<std::string> problems = Problems(LoadYaml(R"(api:
  tokens:
    - name: ci
      token: aaaaaaaaaaaaaaaaaaaa
      role: reader
    - name: ci
      token: bbbbbbbbbbbbbbbbbbbb
      role: admin
    - name: ops
      token: aaaaaaaaaaaaaaaaaaaa
      role: admin
)"));
  EXPECT_THAT(problems,
              ElementsAre(HasSubstr("mailroom.yaml:6: `api.tokens[1].name` repeats `ci`, the name "
                                    "of `api.tokens[0]`; token names must be unique"),
                          HasSubstr("mailroom.yaml:10: `api.tokens[2].token` (token `ops`) is the "
                                    "same secret as `api.tokens[0].token` (token `ci`)")));
  EXPECT_THAT(problems, Each(Not(HasSubstr("aaaa"))));
}

TEST_F(ApiChecksTest, TlsNeedsCertificateAndKeyTogether) {
  EXPECT_THAT(Problems(LoadYaml("api:\n  tls:\n    cert_file: /etc/mailroom/api.crt\n")),
              ElementsAre(HasSubstr("mailroom.yaml:3: `api.tls.cert_file` is set but "
                                    "`api.tls.key_file` is not")));
  EXPECT_THAT(Problems(LoadYaml("api:\n  tls:\n    key_file: /etc/mailroom/api.key\n")),
              ElementsAre(HasSubstr("mailroom.yaml:3: `api.tls.key_file` is set but "
                                    "`api.tls.cert_file` is not")));
  EXPECT_THAT(Problems(LoadYaml("api:\n  tls:\n    client_ca_file: /etc/mailroom/ca.crt\n")),
              ElementsAre(HasSubstr("mailroom.yaml:3: `api.tls.client_ca_file` (client "
                                    "certificates, mTLS) needs TLS")));
}

}  // namespace
}  // namespace mailroom::config
