#include "server/routing/rule_check.h"

#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mailroom::server::routing {
namespace {

using ::mailroom::v1::RoutingRule;

RoutingRule Rule(const std::string& text) {
  RoutingRule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rule)) << text;
  return rule;
}

std::string Error(const std::string& text) {
  const absl::Status status = CheckRoutingRule(Rule(text), "mailbox.rules[2]");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(status.message());
}

TEST(RuleCheckTest, AcceptsEveryKindOfValidRule) {
  for (const char* text : {
           R"pb(recipient { exact: "qa@example.com" })pb",
           R"pb(recipient { domain: "staging.example.com" })pb",
           R"pb(recipient { glob: "*@staging.example.com" })pb",
           R"pb(recipient { regex: "(?i)build-[0-9]+@ci\\.example\\.com" })pb",
           R"pb(auth_user: "ci-*")pb",
           R"pb(header { name: "X-Environment" exists: true })pb",
           R"pb(header { name: "X-Environment" exists: false })pb",
           R"pb(header { name: "Subject" glob: "*[staging]*" })pb",
           R"pb(header { name: "X-Env" regex: "stag(e|ing)" })pb",
           R"pb(source { client_network: "10.0.0.0/8" })pb",
           R"pb(source { client_network: "2001:db8::/32" })pb",
           R"pb(source { client_network: "192.0.2.10" })pb",
           R"pb(source { ehlo_name: "*.ci.internal" })pb",
           R"pb(recipient { exact: "a@b" }
                description: "staging environment")pb",
       }) {
    EXPECT_TRUE(CheckRoutingRule(Rule(text), "rule").ok()) << text;
  }
}

TEST(RuleCheckTest, NamesTheFieldOfEachError) {
  EXPECT_EQ(Error(R"pb(recipient { regex: "(abc" })pb"),
            "mailbox.rules[2].recipient.regex: missing ): (abc");
  EXPECT_EQ(Error(R"pb(description: "no condition")pb"),
            "mailbox.rules[2]: exactly one condition must be set: recipient, auth_user, header "
            "or source");
  EXPECT_EQ(Error(R"pb(recipient {})pb"),
            "mailbox.rules[2].recipient: one of exact, domain, glob or regex must be set");
  EXPECT_EQ(Error(R"pb(recipient { exact: "" })pb"),
            "mailbox.rules[2].recipient.exact: must not be empty");
  EXPECT_EQ(Error(R"pb(recipient { glob: "" })pb"),
            "mailbox.rules[2].recipient.glob: must not be empty");
  EXPECT_EQ(Error(R"pb(recipient { glob: "abc\\" })pb"),
            "mailbox.rules[2].recipient.glob: ends with an unpaired `\\` (write `\\\\` for one)");
  EXPECT_EQ(Error(R"pb(recipient { regex: "" })pb"),
            "mailbox.rules[2].recipient.regex: must not be empty");
  EXPECT_EQ(Error(R"pb(auth_user: "")pb"), "mailbox.rules[2].auth_user: must not be empty");
  EXPECT_EQ(Error(R"pb(header { exists: true })pb"),
            "mailbox.rules[2].header.name: must not be empty");
  EXPECT_EQ(Error(R"pb(header { name: "X-Env" })pb"),
            "mailbox.rules[2].header: one of exists, glob or regex must be set");
  EXPECT_EQ(Error(R"pb(header { name: "X-Env" regex: "a[" })pb"),
            "mailbox.rules[2].header.regex: missing ]: [");
  EXPECT_EQ(Error(R"pb(source {})pb"),
            "mailbox.rules[2].source: one of client_network or ehlo_name must be set");
  EXPECT_EQ(Error(R"pb(source { ehlo_name: "" })pb"),
            "mailbox.rules[2].source.ehlo_name: must not be empty");
}

TEST(RuleCheckTest, RejectsBadHeaderNames) {
  for (const char* name : {"X Env", "X-Env:", "X\tEnv", "X-\xc3\xa9"}) {
    RoutingRule rule;
    rule.mutable_header()->set_name(name);
    rule.mutable_header()->set_exists(true);
    const absl::Status status = CheckRoutingRule(rule, "r");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(status.message().substr(0, 7), "r.heade") << status;
  }
}

TEST(RuleCheckTest, RejectsBadNetworks) {
  for (const char* network : {"10.0.0.0/33", "not-an-ip", "2001:db8::/200", "10.0.0.0/"}) {
    RoutingRule rule;
    rule.mutable_source()->set_client_network(network);
    const absl::Status status = CheckRoutingRule(rule, "m.rules[0]");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << network;
    EXPECT_TRUE(absl::StartsWith(status.message(), "m.rules[0].source.client_network: ")) << status;
  }
}

TEST(RuleCheckTest, LengthLimits) {
  RoutingRule rule;
  rule.mutable_recipient()->set_regex(std::string(1024, 'a'));
  EXPECT_TRUE(CheckRoutingRule(rule, "r").ok());
  rule.mutable_recipient()->set_regex(std::string(1025, 'a'));
  EXPECT_EQ(CheckRoutingRule(rule, "r").message(),
            "r.recipient.regex: longer than 1024 characters");

  rule.mutable_recipient()->set_exact("a@b");
  rule.set_description(std::string(256, 'd'));
  EXPECT_TRUE(CheckRoutingRule(rule, "r").ok());
  // Characters, not bytes: 256 two-byte characters are allowed.
  std::string accented;
  for (int i = 0; i < 256; ++i) accented += "\xc3\xa9";
  rule.set_description(accented);
  EXPECT_TRUE(CheckRoutingRule(rule, "r").ok());
  rule.set_description(std::string(257, 'd'));
  EXPECT_EQ(CheckRoutingRule(rule, "r").message(), "r.description: longer than 256 characters");
}

TEST(RuleCheckTest, DomainMustNotBeAnAddress) {
  EXPECT_EQ(Error(R"pb(recipient { domain: "a@example.com" })pb"),
            "mailbox.rules[2].recipient.domain: must be a domain without `@` (use exact or glob "
            "for addresses)");
}

}  // namespace
}  // namespace mailroom::server::routing
