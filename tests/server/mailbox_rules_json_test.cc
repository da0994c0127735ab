// The stored form of routing rules (server/mailbox_rules_json.h): the JSON the mailboxes.rules
// column holds, and the way back, for every kind of condition.

#include "server/mailbox_rules_json.h"

#include <string>

#include "gtest/gtest.h"

namespace mailroom::server {
namespace {

TEST(MailboxRulesJsonTest, NoRulesIsAnEmptyArray) {
  RoutingRules rules;
  absl::StatusOr<std::string> json = RoutingRulesToJson(rules);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "[]");
  rules.Add()->set_auth_user("left over");
  ASSERT_TRUE(RoutingRulesFromJson("[]", &rules).ok());
  EXPECT_EQ(rules.size(), 0);
}

TEST(MailboxRulesJsonTest, UsesProtoFieldNamesAndKeepsSetDefaults) {
  RoutingRules rules;
  v1::RoutingRule* first = rules.Add();
  first->mutable_recipient()->set_glob("*@qa.example.com");
  first->set_description("QA");
  rules.Add()->mutable_header()->set_name("X-Env");  // exists: false, set explicitly below
  rules[1].mutable_header()->set_exists(false);
  rules.Add()->mutable_source()->set_client_network("10.0.0.0/8");
  absl::StatusOr<std::string> json = RoutingRulesToJson(rules);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"([{"recipient":{"glob":"*@qa.example.com"},"description":"QA"},)"
                   R"({"header":{"name":"X-Env","exists":false}},)"
                   R"({"source":{"client_network":"10.0.0.0/8"}}])");

  RoutingRules back;
  ASSERT_TRUE(RoutingRulesFromJson(*json, &back).ok());
  ASSERT_EQ(back.size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].SerializeAsString(), rules[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(back[1].header().match_case(), v1::HeaderCondition::kExists);
}

TEST(MailboxRulesJsonTest, ReadsPostgresJsonbTextAndIgnoresUnknownFields) {
  RoutingRules rules;
  // jsonb prints with spaces and its own key order; a newer replica may add fields.
  ASSERT_TRUE(
      RoutingRulesFromJson(
          R"([{"auth_user": "ci-*", "future_field": 1}, {"recipient": {"regex": "a+"}}])", &rules)
          .ok());
  ASSERT_EQ(rules.size(), 2);
  EXPECT_EQ(rules[0].auth_user(), "ci-*");
  EXPECT_EQ(rules[1].recipient().regex(), "a+");
}

TEST(MailboxRulesJsonTest, GarbageIsInternal) {
  // (Not "{}": protobuf 3.21's parser takes an empty object for an empty list, and the
  // column's CHECK constraint keeps objects out anyway.)
  RoutingRules rules;
  EXPECT_EQ(RoutingRulesFromJson("[1]", &rules).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(RoutingRulesFromJson("not json", &rules).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace mailroom::server
