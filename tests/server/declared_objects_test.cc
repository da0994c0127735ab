#include "server/declared_objects.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/settings.h"

namespace mailroom::server {
namespace {

using ::testing::HasSubstr;

TEST(DeclaredRuleTest, EachConditionBecomesItsProtoField) {
  config::RoutingRuleConfig recipient;
  recipient.recipient.glob = "*@qa.example.com";
  recipient.description = "QA";
  absl::StatusOr<mailroom::v1::RoutingRule> rule = DeclaredRule(recipient, "r");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->recipient().glob(), "*@qa.example.com");
  EXPECT_EQ(rule->description(), "QA");

  config::RoutingRuleConfig header;
  header.header.name = "X-Env";
  header.header.exists = config::HeaderPresence::kAbsent;
  rule = DeclaredRule(header, "r");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->header().name(), "X-Env");
  ASSERT_EQ(rule->header().match_case(), mailroom::v1::HeaderCondition::kExists);
  EXPECT_FALSE(rule->header().exists());

  config::RoutingRuleConfig source;
  source.source.client_network = "10.0.0.0/8";
  rule = DeclaredRule(source, "r");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->source().client_network(), "10.0.0.0/8");

  config::RoutingRuleConfig user;
  user.auth_user = "ci-*";
  rule = DeclaredRule(user, "r");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->auth_user(), "ci-*");
}

TEST(DeclaredRuleTest, NoneOrSeveralConditionsAreNamed) {
  absl::StatusOr<mailroom::v1::RoutingRule> none =
      DeclaredRule(config::RoutingRuleConfig{}, "mailboxes[0].rules[3]");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(),
            "mailboxes[0].rules[3]: give exactly one condition (recipient, auth_user, header or "
            "source); found none");

  config::RoutingRuleConfig two;
  two.recipient.domain = "example.com";
  two.source.ehlo_name = "*.ci";
  EXPECT_THAT(DeclaredRule(two, "r").status().message(), HasSubstr("found recipient and source"));
}

TEST(DeclaredRuleTest, SeveralWaysOfMatchingInOneConditionAreNamed) {
  config::RoutingRuleConfig rule;
  rule.recipient.exact = "a@example.com";
  rule.recipient.regex = "a.*";
  EXPECT_EQ(DeclaredRule(rule, "m.rules[0]").status().message(),
            "m.rules[0].recipient: give exactly one way of matching (exact, domain, glob or "
            "regex); found exact and regex");

  config::RoutingRuleConfig header;
  header.header.name = "X-Env";
  EXPECT_THAT(DeclaredRule(header, "r").status().message(),
              HasSubstr("r.header: give exactly one way of matching (exists, glob or regex); "
                        "found none"));
}

TEST(DeclaredMailboxTest, RulesKeepTheirOrderAndErrorsTheirKey) {
  config::MailboxConfig declared;
  declared.name = "qa";
  declared.description = "d";
  declared.position = -2;
  declared.max_messages = 10;
  declared.rules.resize(2);
  declared.rules[0].auth_user = "bot";
  declared.rules[1].recipient.domain = "qa.example.com";
  absl::StatusOr<mailroom::v1::Mailbox> mailbox = DeclaredMailbox(declared, "mailboxes[4]");
  ASSERT_TRUE(mailbox.ok()) << mailbox.status();
  EXPECT_EQ(mailbox->name(), "qa");
  EXPECT_EQ(mailbox->position(), -2);
  EXPECT_EQ(mailbox->max_messages(), 10);
  ASSERT_EQ(mailbox->rules_size(), 2);
  EXPECT_EQ(mailbox->rules(0).auth_user(), "bot");
  EXPECT_EQ(mailbox->rules(1).recipient().domain(), "qa.example.com");

  declared.rules[1].auth_user = "also";
  EXPECT_THAT(DeclaredMailbox(declared, "mailboxes[4]").status().message(),
              HasSubstr("mailboxes[4].rules[1]: give exactly one condition"));
}

}  // namespace
}  // namespace mailroom::server
